/**
 * The workspace tracker: an unchanged workspace is not stored again, a periodic save trusts the change
 * watcher, and the final save always looks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceTracker } from '../../src/workspace/tracker.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from '../../src/workspace/workspace.js';

const options = { maxBytes: DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false };
let dir: string;
let tracker: WorkspaceTracker | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-tracker-'));
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  await writeFile(join(dir, 'a.txt'), 'a\n');
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'init', '--allow-empty'], { cwd: dir });
});
afterEach(async () => {
  await tracker?.close();
  await rm(dir, { recursive: true, force: true });
});

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WorkspaceTracker', () => {
  it('stores a first snapshot, then nothing while the workspace does not change, then the change', async () => {
    tracker = new WorkspaceTracker(dir, options, undefined);
    await tracker.start();
    const first = await tracker.snapshot({ final: false });
    expect(first?.manifest).toMatchObject({ kind: 'git', changedFiles: [] });
    await settle();
    expect(await tracker.snapshot({ final: false })).toBeUndefined();
    expect(await tracker.snapshot({ final: true })).toBeUndefined(); // looked, and found the same fingerprint

    await writeFile(join(dir, 'b.txt'), 'b\n');
    await settle();
    const changed = await tracker.snapshot({ final: false });
    expect(changed?.manifest).toMatchObject({ kind: 'git', changedFiles: ['b.txt'] });
    await settle();
    expect(await tracker.snapshot({ final: false })).toBeUndefined();
  });

  it('does not store again a workspace equal to the conversation\'s newest stored snapshot', async () => {
    const earlier = new WorkspaceTracker(dir, options, undefined);
    const stored = await earlier.snapshot({ final: true });
    await earlier.close();
    tracker = new WorkspaceTracker(dir, options, stored!.manifest.fingerprint);
    expect(await tracker.snapshot({ final: true })).toBeUndefined();
  });

  it('finds a change the watcher has not reported yet at the final save', async () => {
    tracker = new WorkspaceTracker(dir, options, undefined);
    await tracker.snapshot({ final: true });
    await settle();
    await writeFile(join(dir, 'late.txt'), 'written just before the CLI exited\n');
    const final = await tracker.snapshot({ final: true });
    expect(final?.manifest.changedFiles).toContain('late.txt');
  });
});
