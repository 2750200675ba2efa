import { describe, expect, it } from 'vitest';

import { EagerConfigSchema, withPreset, EAGER_PRESETS } from '../ts/model/config.js';

describe('EagerConfigSchema', () => {
  it('fills paper defaults, nested sections included', () => {
    const c = EagerConfigSchema.parse({});
    expect(c.hidden).toBe(128);
    expect(c.encoderLayers).toBe(1);
    expect(c.decoderLayers).toBe(4);
    expect(c.gct.form).toBe('infoNce');
    expect(c.stt.maskRatio).toBe(0.5);
    expect(c.streams).toEqual({ behaviour: true, semantic: true });
    expect(c.optimizer.beta2).toBe(0.999);
    expect(c.device).toBe('cpu');
    expect(c.pretrainedInputs).toEqual({ behaviour: false, semantic: false });
    expect(c.labelSmoothing).toBe(0);
    expect(c.historyUnlikelihood).toBe(0);
  });

  it('applies presets under the given fields', () => {
    const c = EagerConfigSchema.parse(withPreset('released', { decoderLayers: 3 }));
    expect(c.hidden).toBe(96);
    expect(c.ffn).toBe(1024);
    expect(c.decoderLayers).toBe(3);
    expect(c.stt.ffn).toBe(192);
    expect(c.stt.maskRatio).toBe(0.5);
    for (const p of Object.keys(EAGER_PRESETS) as (keyof typeof EAGER_PRESETS)[]) {
      expect(EagerConfigSchema.safeParse(withPreset(p)).success).toBe(true);
    }
  });

  it('names the field of every error', () => {
    const paths = (v: unknown) => {
      const r = EagerConfigSchema.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(paths({ hidden: 10, heads: 3 })).toContain('heads');
    expect(paths({ stt: { maskRatio: 2 } })).toContain('stt.maskRatio');
    expect(paths({ streams: { semantic: false } })).toContain('stt.enabled');
    expect(paths({ streams: { semantic: false, behaviour: false }, stt: { enabled: false } })).toContain('streams');
    expect(paths({ dropout: 1 })).toContain('dropout');
    expect(paths({ labelSmoothing: 1 })).toContain('labelSmoothing');
    expect(paths({ labelSmoothing: -0.1 })).toContain('labelSmoothing');
    expect(paths({ historyUnlikelihood: -1 })).toContain('historyUnlikelihood');
    expect(paths({ historyUnlikelihood: 1e4 })).toContain('historyUnlikelihood');
    expect(paths({ gct: { form: 'l2' } })).toContain('gct.form');
    expect(paths({ hiden: 3 }).length).toBeGreaterThan(0);
    expect(paths({ device: 'tpu' })).toContain('device');
    expect(paths({ streams: { semantic: false }, stt: { enabled: false }, pretrainedInputs: { semantic: true } })).toContain('pretrainedInputs.semantic');
    expect(paths({ pretrainedInputs: { text: true } })).toContain('pretrainedInputs');
  });
});
