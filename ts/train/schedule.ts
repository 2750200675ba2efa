/** Learning-rate schedules of the training loop (computed in TS, pushed to the core each step). */
import { z } from 'zod';

export const LrScheduleSchema = z.object({
  peakLr: z.number().positive().max(1).default(1e-3).describe('learning rate reached at the end of warm-up'),
  warmupSteps: z.number().int().min(0).default(2000).describe('linear warm-up updates'),
  warmupInitLr: z.number().min(0).default(1e-7).describe('learning rate at step 0 of the warm-up'),
  decay: z.enum(['inverse-sqrt', 'linear', 'cosine', 'constant']).default('inverse-sqrt')
    .describe('after warm-up: peak*sqrt(warmup/step), linear or cosine to minLr at the last step, or constant'),
  minLr: z.number().min(0).default(0).describe('floor for linear/cosine decay'),
});
export type LrSchedule = z.infer<typeof LrScheduleSchema>;

/** Learning rate for 0-based update `step` out of `totalSteps`. */
export function learningRate(step: number, s: LrSchedule, totalSteps: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) {
    return s.warmupInitLr + ((s.peakLr - s.warmupInitLr) * step) / s.warmupSteps;
  }
  const after = step - s.warmupSteps;
  const span = Math.max(1, totalSteps - s.warmupSteps);
  switch (s.decay) {
    case 'constant':
      return s.peakLr;
    case 'inverse-sqrt':
      return s.warmupSteps > 0 ? s.peakLr * Math.sqrt(s.warmupSteps / Math.max(step, 1)) : s.peakLr / Math.sqrt(Math.max(after, 1));
    case 'linear':
      return s.minLr + (s.peakLr - s.minLr) * Math.max(0, 1 - after / span);
    case 'cosine':
      return s.minLr + 0.5 * (s.peakLr - s.minLr) * (1 + Math.cos(Math.PI * Math.min(1, after / span)));
  }
}
