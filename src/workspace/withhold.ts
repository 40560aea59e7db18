/**
 * Withholding a restored workspace's files that run code. A conversation that arrived by import is untrusted:
 * its workspace restores, but the project files through which a CLI would run commands on its own (hooks, MCP
 * servers, project config: see Harness.projectFilesThatRunCode) are taken out again before any CLI or git
 * command runs there, and listed. They stay in the store's snapshot, so trusting the conversation later brings
 * them back (copyWithheld).
 *
 * Only what the restore itself wrote is withheld: a directory that already holds such a path (the user's) is
 * refused before the restore (see run/launch.ts), never touched. Nothing is followed through a symlink: a
 * restored link on the way to a withheld path is withheld itself.
 */
import { cp, lstat, rm } from 'node:fs/promises';
import path from 'node:path';

/** The first existing component of `relative` under `root` that is not a real directory, or the whole path. */
async function presentEntry(root: string, relative: string): Promise<string | undefined> {
  const parts = relative.split('/');
  for (let depth = 1; depth <= parts.length; depth++) {
    const candidate = parts.slice(0, depth).join('/');
    let stats;
    try {
      stats = await lstat(path.join(root, candidate));
    } catch {
      return undefined;
    }
    if (depth === parts.length || !stats.isDirectory()) return candidate;
  }
  return undefined;
}

/** Which of `candidates` exist in `root` now, each as its first component that is not a real directory. */
export async function presentEntries(root: string, candidates: readonly string[]): Promise<Set<string>> {
  const present = new Set<string>();
  for (const candidate of candidates) {
    const entry = await presentEntry(root, candidate);
    if (entry !== undefined) present.add(entry);
  }
  return present;
}

/**
 * Removes each candidate present in `root` (what the restore just put there: an untrusted resume refuses a
 * directory that held any beforehand); returns what it removed, as paths relative to root, sorted.
 */
export async function withholdRestored(root: string, candidates: readonly string[]): Promise<string[]> {
  const withheld: string[] = [];
  for (const entry of await presentEntries(root, candidates)) {
    // rm never follows a symlink: a link is unlinked, a folder's links inside it too.
    await rm(path.join(root, entry), { recursive: true, force: true });
    withheld.push(entry);
  }
  return withheld.sort();
}

/**
 * Copies each candidate present in `from` (a scratch restore of the snapshot the files were withheld from) into
 * `to` where `to` has nothing at that path; returns what it copied.
 */
export async function copyWithheld(from: string, to: string, candidates: readonly string[]): Promise<string[]> {
  const copied: string[] = [];
  const already = await presentEntries(to, candidates);
  for (const entry of await presentEntries(from, candidates)) {
    if (already.has(entry) || [...already].some((taken) => entry.startsWith(`${taken}/`))) continue;
    await cp(path.join(from, entry), path.join(to, entry), { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false, preserveTimestamps: true });
    copied.push(entry);
  }
  return copied.sort();
}
