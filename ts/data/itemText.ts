/**
 * Item text from a configurable template over the item fields (default: title, brand,
 * categories). Missing, null, empty or non-textual fields are skipped: the text never contains
 * "undefined", "null" or "[object Object]".
 */
import { ItemTextTemplateSchema, parseConfig, type ItemTextTemplate } from '../config/data.js';
import type { ItemMeta } from './types.js';

/** The default template: `title; brand; cat1, cat2, ...`. */
export const DEFAULT_ITEM_TEXT_TEMPLATE: ItemTextTemplate = ItemTextTemplateSchema.parse({});

function textOf(value: unknown, listSeparator: string): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    return value.map((v) => textOf(v, listSeparator)).filter((s) => s !== '').join(listSeparator);
  }
  return '';
}

/**
 * Renders the text of one item. `template` may be partial (validated, defaults filled in);
 * pass a parsed template when calling in a loop.
 */
export function itemText(item: ItemMeta, template: Partial<ItemTextTemplate> | ItemTextTemplate = DEFAULT_ITEM_TEXT_TEMPLATE): string {
  const t: ItemTextTemplate = template === DEFAULT_ITEM_TEXT_TEMPLATE ? DEFAULT_ITEM_TEXT_TEMPLATE : parseConfig(ItemTextTemplateSchema, template, 'item text template');
  const parts: string[] = [];
  for (const f of t.fields) {
    const spec = typeof f === 'string' ? { field: f } : f;
    const text = textOf(item[spec.field], spec.join ?? t.listSeparator);
    if (text !== '') parts.push(`${spec.label ?? ''}${text}`);
  }
  return parts.join(t.separator);
}

/** Texts of every item, index = item id (`[0]` is ''). */
export function itemTexts(items: ItemMeta[], template: Partial<ItemTextTemplate> = {}): string[] {
  const t = parseConfig(ItemTextTemplateSchema, template, 'item text template');
  return items.map((it, id) => (id === 0 ? '' : itemText(it, t)));
}
