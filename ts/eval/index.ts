/** Evaluation: metrics in both ranking modes, the recommender interface, baselines, reports. */
export {
  DEFAULT_KS, RANKING_MODES, MetricAccumulator, evaluateRankedLists, evaluateScoreMatrix, rankInList, rankOfTarget,
  rankScoreMatrix, topKFromScores, type EvaluateOptions, type MetricResult, type RankingMode,
} from './metrics.js';
export {
  evaluateRecommender, type EvaluateRecommenderOptions, type RankingRecommender, type Recommender, type ScoringRecommender,
} from './recommender.js';
export { mostPopularRecommender, trainingPopularity, transitionRecommender } from './baselines.js';
export { formatMetricTable, type ReportRow } from './report.js';
