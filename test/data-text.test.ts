import { describe, expect, it } from 'vitest';
import { itemText, itemTexts } from '../ts/data/itemText.js';

describe('item text template', () => {
  const full = { title: 'Red Lipstick', brand: 'Acme', categories: ['Beauty', 'Makeup'], price: 4.5 };

  it('defaults to title; brand; categories', () => {
    expect(itemText(full)).toBe('Red Lipstick; Acme; Beauty, Makeup');
  });

  it('skips missing, null, empty and non-text fields (never "undefined")', () => {
    expect(itemText({ title: 'Only Title' })).toBe('Only Title');
    expect(itemText({ brand: 'B', categories: [] })).toBe('B');
    expect(itemText({ title: '  ', brand: null as unknown as string, categories: ['', 'X'] })).toBe('X');
    expect(itemText({})).toBe('');
    expect(itemText({ title: 'T', weird: { a: 1 } }, { fields: ['title', 'weird', 'missing'] })).toBe('T');
  });

  it('supports labels, custom separators, list joiners and extra fields', () => {
    const t = {
      fields: ['title', { field: 'brand', label: 'Brand: ' }, { field: 'categories', label: 'In: ', join: ' > ' }, 'price'],
      separator: '. ',
    };
    expect(itemText(full, t)).toBe('Red Lipstick. Brand: Acme. In: Beauty > Makeup. 4.5');
    expect(itemText({ title: 'T' }, t)).toBe('T');
  });

  it('rejects a bad template naming the field', () => {
    expect(() => itemText(full, { fields: [] })).toThrow(/fields/);
  });

  it('itemTexts maps a whole catalogue, [0] empty', () => {
    expect(itemTexts([{}, { title: 'a' }, { brand: 'b' }])).toEqual(['', 'a', 'b']);
  });
});
