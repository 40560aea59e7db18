/** The schema of baton.config.json (loaded on demand by config.ts). */
import { z } from 'zod';
import type { BatonConfig } from './config.js';
import { HARNESS_IDS } from './harness/ids.js';

const templateSchema = z.array(z.union([z.string(), z.array(z.string()).min(1)]));

const harnessConfigSchema = z
  .object({
    command: z.string().min(1).optional(),
    args: z.object({ new: templateSchema.optional(), resume: templateSchema.optional() }).strict().optional(),
    env: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const configSchema: z.ZodType<BatonConfig> = z
  .object({
    $schema: z.string().optional(),
    store: z.string().min(1).optional(),
    blobs: z.string().regex(/^s3:\/\//, 'an s3://bucket/prefix URL').optional(),
    harnesses: z.object(Object.fromEntries(HARNESS_IDS.map((id) => [id, harnessConfigSchema.optional()]))).strict().optional(),
  })
  .strict();
