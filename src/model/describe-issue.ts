/** A zod error as one line, `where: what`, from its first issue (descending into a record key's or union's own). */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

export function describeIssue(error: z.ZodError): string {
  let issue: Issue | undefined = error.issues[0];
  const path: PropertyKey[] = [];
  while (issue) {
    path.push(...issue.path);
    const nested: Issue | undefined = issue.code === 'invalid_key' || issue.code === 'invalid_element' ? issue.issues[0] : issue.code === 'invalid_union' ? issue.errors[0]?.[0] : undefined;
    if (!nested) break;
    issue = nested;
  }
  if (!issue) return 'is not valid';
  const where = path.map(String).join('.');
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}
