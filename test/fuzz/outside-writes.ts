/**
 * "Nothing was written outside the CLI home and the cwd": every case runs under one fuzz root whose whole tree
 * (paths, types, modes, sizes, mtimes) is listed before and after, leaving out only that case's homes and cwd
 * and the store; the process's TMPDIR points into the root too (so baton's temporary files must be gone after
 * each case), and /tmp is watched for names carrying the hostile files' marker.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MARKER } from './hostile-exports.js';

export type TreeListing = Map<string, string>;

/** Every path under `root` with what would change if anything were written there; `skip` paths are left out whole. */
export async function listTree(root: string, skip: ReadonlySet<string>): Promise<TreeListing> {
  const listing: TreeListing = new Map();
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      if (skip.has(path)) continue;
      const stats = await lstat(path).catch(() => undefined);
      if (!stats) continue;
      const type = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'link' : stats.isFile() ? 'file' : 'special';
      listing.set(path, `${type} ${(stats.mode & 0o7777).toString(8)} ${stats.size} ${stats.mtimeMs}`);
      if (type === 'dir') await walk(path);
    }
  };
  await walk(root);
  return listing;
}

/** What changed between two listings, as readable lines (empty when nothing did). */
export function treeChanges(before: TreeListing, after: TreeListing): string[] {
  const changes: string[] = [];
  for (const [path, now] of after) {
    const then = before.get(path);
    if (then === undefined) changes.push(`created ${path} (${now})`);
    else if (then !== now) changes.push(`changed ${path} (${then} → ${now})`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`removed ${path}`);
  return changes;
}

/** Names in /tmp (one level) that carry the marker. */
export async function markedInTmp(): Promise<string[]> {
  return (await readdir('/tmp').catch(() => [] as string[])).filter((name) => name.includes(MARKER)).sort();
}
