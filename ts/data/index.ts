/** The data layer: dataset model, readers, item text, split and the synthetic generator. */
export { DataError, isDataError } from './errors.js';
export type { Dataset, DatasetFormat, ItemMeta, SkipRecord } from './types.js';
export { countInteractions } from './types.js';
export { detectFormat, loadDataset, type FileFormat, type LoadedDataset } from './load.js';
export { readProjectDataset, readItemsJsonl, MIN_SEQUENCE_LENGTH } from './project.js';
export { readRecboleDataset } from './recbole.js';
export { readAmazonDataset } from './amazon.js';
export { readCsvDataset } from './csv.js';
export { buildDataset, InteractionTable, kcoreFilter, type FilterReport, type RawDataset } from './interactions.js';
export { parsePythonLiteral, PyLiteralError, type PyValue } from './pyliteral.js';
export { readLines, type NumberedLine } from './lines.js';
export { itemText, itemTexts, DEFAULT_ITEM_TEXT_TEMPLATE } from './itemText.js';
export { leaveOneOutSplit, trainingPart, SampleSet, type LeaveOneOutSplit, type Sample, type SplitPart } from './split.js';
export { datasetStats, type DatasetStats } from './stats.js';
export { SeededRandom, WeightedSampler } from './prng.js';
export { generateSynthetic, generateSyntheticWithTruth, type SyntheticResult, type SyntheticTruth } from './synthetic.js';
