/**
 * Published numbers the results page compares against: Table 2 of the EAGER paper (KDD 2024,
 * arXiv 2406.14017), as copied in `../shared/guide/eager.md` (EAGER rows) and
 * `../shared/guide/source-article-zh.txt` (the full table, incl. TIGER and SASRec). `null`: the
 * paper reports no value (TIGER has no @20 numbers there).
 */

/** `recall@5` ... `ndcg@20`, or null where not reported. */
export type PaperRow = Record<'recall@5' | 'recall@10' | 'recall@20' | 'ndcg@5' | 'ndcg@10' | 'ndcg@20', number | null>;

function row(r5: number, r10: number, r20: number | null, n5: number, n10: number, n20: number | null): PaperRow {
  return { 'recall@5': r5, 'recall@10': r10, 'recall@20': r20, 'ndcg@5': n5, 'ndcg@10': n10, 'ndcg@20': n20 };
}

/** Paper rows per dataset and model. */
export const PAPER: Record<string, Record<'EAGER' | 'TIGER' | 'SASRec', PaperRow>> = {
  beauty: {
    EAGER: row(0.0618, 0.0836, 0.1124, 0.0451, 0.0525, 0.0599),
    TIGER: row(0.0454, 0.0648, null, 0.0321, 0.0384, null),
    SASRec: row(0.0387, 0.0605, 0.0902, 0.0249, 0.0318, 0.0394),
  },
  sports: {
    EAGER: row(0.0281, 0.0441, 0.0659, 0.0184, 0.0236, 0.0291),
    TIGER: row(0.0264, 0.0400, null, 0.0181, 0.0225, null),
    SASRec: row(0.0233, 0.0350, 0.0507, 0.0154, 0.0192, 0.0231),
  },
  toys: {
    EAGER: row(0.0584, 0.0714, 0.1024, 0.0464, 0.0505, 0.0538),
    TIGER: row(0.0521, 0.0712, null, 0.0371, 0.0432, null),
    SASRec: row(0.0463, 0.0675, 0.0941, 0.0306, 0.0374, 0.0441),
  },
};

/** Datasets the page always has a section for (in this order), even before any run. */
export const PAGE_DATASETS = ['beauty', 'sports', 'toys'] as const;

/** Other reference points quoted on the page (Beauty, R@10 / N@10), with their source. */
export const REFERENCE_NOTES: Record<string, string[]> = {
  beauty: [
    'A plain SASRec with full-softmax cross-entropy trained in PyTorch on exactly this data and split scored test '
      + 'R@10 0.0843 / N@10 0.0410 over the full catalogue (0.0942 / 0.0555 with history items excluded) (issue 6).',
    'The strongest published numbers on Beauty under this protocol are about R@10 0.093 / N@10 0.053 (SASRec variants with '
      + 'full or sampled softmax; `../shared/guide/eager.md`).',
  ],
};
