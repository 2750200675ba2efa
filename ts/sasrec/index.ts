/** SASRec: the project's sequential baseline and the source of the behaviour embeddings `E^b`. */
export {
  SasRecConfigSchema, SasRecModelSchema, SasRecBaselineFlagsSchema,
  type SasRecConfig, type SasRecConfigInput, type SasRecModelConfig,
} from './config.js';
export {
  trainSasRec, evaluateSasRec, createSasRec, flattenSequences,
  type SasRecResult, type SasRecEpoch, type SasRecSplitMetrics, type TrainSasRecOptions, type FlatSequences,
} from './train.js';
export { sasrecBehaviourTrainer } from './behaviour.js';
