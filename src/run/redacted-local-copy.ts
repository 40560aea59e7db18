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

/**
 * How a local copy relates to the stored bytes once both are redacted, and the local copy's redacted form.
 * The local copy is redacted with this run's redactor first; where that is not enough (the run that saved it had
 * a variable this one lacks), each stored line with placeholders is matched as a template against the local
 * line — the local line holds the same text, with something in place of each placeholder — and the stored line
 * is taken. Lines the store lacks are redacted with this run's redactor.
 */
export async function compareRedactedLocalCopy(onDisk: Buffer, stored: Buffer, redactor: Redactor): Promise<{ relation: LocalCopy; redacted: Buffer }> {
  const relation = compareLocalCopy(onDisk, stored);
  if (relation !== 'different') return { relation, redacted: onDisk };
  const redacted = await redactor.redactLines(onDisk);
  const again = compareLocalCopy(redacted, stored);
  if (again !== 'different') return { relation: again, redacted };
  const aligned = await alignWithPlaceholders(onDisk, stored, redactor);
  return aligned ? { relation: compareLocalCopy(aligned, stored), redacted: aligned } : { relation: 'different', redacted };
}

const PLACEHOLDER = /\[REDACTED:[^\]\n]*\]/g;

/** The local copy with every line that matches its stored line's template replaced by it; undefined on a mismatch. */
async function alignWithPlaceholders(onDisk: Buffer, stored: Buffer, redactor: Redactor): Promise<Buffer | undefined> {
  // latin1: one character per byte, so nothing is re-encoded on the way back.
  const local = linesOf(onDisk.toString('latin1'));
  const saved = linesOf(stored.toString('latin1'));
  const common = Math.min(local.length, saved.length);
  const out: string[] = [];
  for (let index = 0; index < common; index++) {
    const mine = local[index]!;
    const theirs = saved[index]!;
    if (mine !== theirs && !matchesTemplate(mine, theirs)) return undefined;
    out.push(theirs);
  }
  const rest = Buffer.from(local.slice(common).join(''), 'latin1');
  return Buffer.concat([Buffer.from(out.join(''), 'latin1'), await redactor.redactLines(rest)]);
}

/** Whether `line` is `template` with one or more characters in place of each placeholder (earliest match, linear). */
function matchesTemplate(line: string, template: string): boolean {
  const pieces = template.split(PLACEHOLDER);
  if (pieces.length === 1) return false;
  const first = pieces[0]!;
  const last = pieces.at(-1)!;
  if (!line.startsWith(first) || !line.endsWith(last)) return false;
  let position = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = line.indexOf(piece, position + 1);
    if (found === -1) return false;
    position = found + piece.length;
  }
  return line.length - last.length >= position + 1;
}

/** Lines with their newlines (the last one may have none). */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Rewrites each local file whose redacted form is the stored copy, a prefix of it, or extends it, in that
 * redacted form (0600, atomically). A file that differs in more than its secrets is left for the harness's
 * rehydrate to report as a conflict. Returns the keys rewritten.
 */
export async function redactLocalCopies(files: Array<{ key: string; path: string }>, stored: Array<{ key: string; whole(): Promise<{ content: Buffer }> }>, redactor: Redactor): Promise<string[]> {
  const rewritten: string[] = [];
  for (const file of files) {
    const storedFile = stored.find((candidate) => candidate.key === file.key);
    const onDisk = storedFile && (await readFile(file.path).catch(() => undefined));
    if (!storedFile || !onDisk) continue;
    // Read whole (verified) only where there is a local copy to compare.
    const { relation, redacted } = await compareRedactedLocalCopy(onDisk, (await storedFile.whole()).content, redactor);
    if (redacted === onDisk || relation === 'different') continue;
    await writePrivateFileAtomic(file.path, redacted);
    rewritten.push(file.key);
  }
  return rewritten;
}
