/**
 * A zod error as one line, `where: what`, from its first issue (descending into a record key's or union's own).
 * A path segment that is not a plain name or index (a record key from a hostile file) is quoted and cut short.
 */
import type { z } from 'zod';
import { errorSummary, quoted } from '../errors.js';

type Issue = z.core.$ZodIssue;

export function describeIssue(error: z.ZodError, topLevel?: string): string {
  let issue: Issue | undefined = error.issues[0];
  const path: PropertyKey[] = [];
  while (issue) {
    path.push(...issue.path);
    const nested: Issue | undefined = issue.code === 'invalid_key' || issue.code === 'invalid_element' ? issue.issues[0] : issue.code === 'invalid_union' ? issue.errors[0]?.[0] : undefined;
    if (!nested) break;
    issue = nested;
  }
  if (!issue) return 'is not valid';
  const where = path.map((segment) => (typeof segment === 'number' || /^[A-Za-z0-9_$-]{1,64}$/.test(String(segment)) ? String(segment) : quoted(String(segment), 40))).join('.');
  const message = errorSummary(issue.message, 200);
  if (where === '') return topLevel === undefined ? message : `${topLevel}: ${message}`;
  return `${where}: ${message}`;
}
