/**
 * verified with opencode 1.18.33: `opencode export` exits before a pipe on its stdout is drained, so a session
 * document over ~150 KB read through a pipe arrived cut short — and a cut document once became the saved log.
 * A 2 MB session imported into the real CLI is read back whole, as records, by the save path.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { synthesiseOpencodeSession } from '../../bench/lib/opencode-synth.js';
import { bundledOpencode, runChoreOrFail } from '../../src/harness/opencode/cli.js';
import { scriptedHome } from '../../src/harness/opencode/config.js';
import { foldLog, parseExport } from '../../src/harness/opencode/log.js';
import { locateOpencodeSession } from '../../src/harness/opencode/transcript.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-opencode-export-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

it('a 2 MB session is saved whole from the real CLI\'s export, never a cut copy', async () => {
  const executable = bundledOpencode();
  if (!executable) throw new Error('the pinned opencode-linux-x64 package is missing');
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: root, ...(await scriptedHome({ home: join(root, 'opencode'), userHome: root, url: 'http://127.0.0.1:9' })) };
  const session = synthesiseOpencodeSession(2 * 1024 * 1024, 7);
  const exportText = session.synth.exportText();
  const sessionId = parseExport(exportText)!.info.id as string;
  const file = join(root, 'session.json');
  await writeFile(file, exportText);
  await runChoreOrFail('import', executable, ['import', file], { cwd: root, env });

  const context = { home: join(env.XDG_DATA_HOME!, 'opencode'), cwd: root, env, executable: async () => executable };
  const located = await locateOpencodeSession(context, sessionId);
  const log = await readFile(located!.files[0]!.path);
  expect(log.subarray(0, 17).toString()).toBe('{"type":"session"');
  const saved = parseExport(foldLog(log));
  expect(saved?.messages.length).toBe(parseExport(exportText)!.messages.length);
  expect(foldLog(log).length).toBeGreaterThan(2 * 1024 * 1024 - 64 * 1024);
}, 120_000);
