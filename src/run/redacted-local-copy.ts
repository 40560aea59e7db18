/**
 * A CLI's own copy of a session on this machine holds the secrets its store copy has redacted: after a run
 * here, the local file and the stored one differ exactly where a secret was. Compared as they are, every
 * same-machine resume would look like a conflict; compared in redacted form, the local copy is the stored one
 * (or extends it), and it is redacted in place so the CLI resumes from what the store holds.
 */
import { readFile } from 'node:fs/promises';
import { writePrivateFileAtomic } from '../fs/private-files.js';
import { compareLocalCopy, type LocalCopy } from '../harness/harness.js';
import type { Redactor } from '../redact/redactor.js';

/** How a local copy relates to the stored bytes once both are redacted, and the local copy's redacted form. */
export async function compareRedactedLocalCopy(onDisk: Buffer, stored: Buffer, redactor: Redactor): Promise<{ relation: LocalCopy; redacted: Buffer }> {
  const relation = compareLocalCopy(onDisk, stored);
  if (relation !== 'different') return { relation, redacted: onDisk };
  const redacted = await redactor.redactLines(onDisk);
  return { relation: redacted === onDisk ? relation : compareLocalCopy(redacted, stored), redacted };
}

/**
 * Rewrites each local file whose redacted form is the stored copy, a prefix of it, or extends it, in that
 * redacted form (0600, atomically). A file that differs in more than its secrets is left for the harness's
 * rehydrate to report as a conflict. Returns the keys rewritten.
 */
export async function redactLocalCopies(files: Array<{ key: string; path: string }>, stored: Array<{ key: string; content: Buffer }>, redactor: Redactor): Promise<string[]> {
  const rewritten: string[] = [];
  for (const file of files) {
    const storedFile = stored.find((candidate) => candidate.key === file.key);
    const onDisk = storedFile && (await readFile(file.path).catch(() => undefined));
    if (!storedFile || !onDisk) continue;
    const { relation, redacted } = await compareRedactedLocalCopy(onDisk, storedFile.content, redactor);
    if (redacted === onDisk || relation === 'different') continue;
    await writePrivateFileAtomic(file.path, redacted);
    rewritten.push(file.key);
  }
  return rewritten;
}
