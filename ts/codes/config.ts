/**
 * Options of hierarchical k-means code building: one zod schema, the single source of truth
 * for the TS API and any CLI flags built on it. Mirrors `KMeansConfig` in the Rust core.
 */
import { z } from 'zod';

export const BuildCodesOptionsSchema = z
  .object({
    k: z.number().int().min(2).max(16_777_216).default(256).describe('branching factor K and token vocabulary (paper: 256)'),
    balanced: z.boolean().default(true).describe('equal-size clusters (sizes differ by at most 1); false: plain k-means'),
    maxIters: z.number().int().min(1).max(100_000).default(100).describe('max k-means iterations per tree node'),
    tol: z.number().min(0).finite().default(1e-6).describe('stop when (sum of centre shifts)^2 < tol'),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(2024).describe('seed of every random draw'),
    nInit: z.number().int().min(1).max(1000).default(1).describe('k-means runs per node; lowest inertia kept'),
    init: z.enum(['plusPlus', 'randomPartition']).default('plusPlus').describe('centroid initialisation (k-means++ or random partition means)'),
  })
  .strict();

export type BuildCodesOptions = z.infer<typeof BuildCodesOptionsSchema>;
