/**
 * Which targets an index's behaviour embeddings were trained on, and the rule that follows: a run
 * that selects on validation (`split.trainOn: "train"`) must not use an index that learnt from the
 * validation targets (the index of a refit, `bench:repro --refit-of <result> --refit-index`).
 */
import { TrainOnSchema, type TrainOn } from '../config/data.js';
import { RunConfigError } from './config.js';
import type { LoadedIndex } from './types.js';

/**
 * `manifest.behaviour.trainOn` of an index (written since 0.15.0); indexes from before, and
 * embeddings read from a file that says nothing, count as trained on the training parts.
 */
function indexTrainOn(index: LoadedIndex, indexDir: string): TrainOn {
  const b = index.manifest.behaviour as { trainOn?: unknown } | undefined;
  const parsed = TrainOnSchema.safeParse(b?.trainOn ?? 'train');
  if (!parsed.success) throw new RunConfigError(`${indexDir}/manifest.json: behaviour.trainOn: expected "train" or "train+valid", found ${JSON.stringify(b?.trainOn)}`);
  return parsed.data;
}

/** Throws unless a run trained on `runTrainOn` may use this index (see the file comment). */
export function checkIndexForRun(index: LoadedIndex, indexDir: string, runTrainOn: TrainOn): void {
  const indexOn = indexTrainOn(index, indexDir);
  if (runTrainOn === 'train' && indexOn !== 'train') {
    // Selection reads the validation targets; codes and embeddings that saw them would bias it.
    throw new RunConfigError(`index ${indexDir}: its behaviour embeddings trained on the validation targets `
      + `(behaviour.trainOn "${indexOn}"): only a refit (split.trainOn "train+valid") may use it`);
  }
}
