import { mkdtemp, mkdir, realpath, rm, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { benchSession } from './lib/sessions.js';
import { newConversation, storedEnvelopeOf } from './lib/storage.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { TranscriptSaver } from '../src/run/saver.js';
const harness = (process.argv[2] ?? 'codex') as any;
const MB = Number(process.argv[3] ?? 50);
const session = benchSession(harness, MB * 1024 * 1024, 7);
const root = await mkdtemp(join(tmpdir(), 'res-'));
const cwd = await realpath(await mkdtemp(join(root, 'project-')));
const source = await session.placeSource(join(root, 'cli-home'), cwd);
const store = await openSqliteStore(join(root, 'store.db'));
const first = await newConversation(store, session, cwd);
await new TranscriptSaver({ store, ...first }).save([{ key: 'main', path: source }], { final: false, meta: (b: Buffer) => session.meta(b) });
{ const o = await store.openTranscript(first.conversationId); let n = 0, sizes: number[] = []; await o!.files[0]!.stream((p) => { n++; sizes.push(p.unverifiedBytes.length); }); console.log('pieces', n, 'sizes', sizes.slice(0, 5), 'files', o!.files.length); }
const homes = join(root, 'homes'); await mkdir(homes);
let n = 0;
const phases: Record<string, number[]> = {};
const mark = (k: string, v: number) => (phases[k] ??= []).push(v);
async function resume() {
  const home = join(homes, `h${n++}`);
  const t0 = performance.now();
  const opened = await store.openTranscript(first.conversationId);
  const t1 = performance.now();
  await session.harnessRehydrate(storedEnvelopeOf(session, opened!), home, cwd);
  const t2 = performance.now();
  new TranscriptSaver({ store, ...first }, await Promise.all(opened!.files.map((f) => f.verified())));
  const t3 = performance.now();
  mark('open', t1 - t0); mark('rehydrate', t2 - t1); mark('saver', t3 - t2); mark('total', t3 - t0);
}
async function cp() { const t0 = performance.now(); await copyFile(source, join(homes, `c${n++}`)); mark('cp', performance.now() - t0); }
import { writeStoredFile } from '../src/fs/streamed-file.js';
const variant = (name: string, opts: any) => async () => { const home = join(homes, `v${n++}`); const t0 = performance.now(); const o = await store.openTranscript(first.conversationId); await writeStoredFile(join(home, 'x', 'f.jsonl'), o!.files[0]!, opts); mark(name, performance.now() - t0); };
const plain = variant('plain', {}); const tail1m = variant('tail1MB', { tailBytes: 1024 * 1024 });
const profile = process.env.PROF ? new Session() : undefined;
if (profile) { profile.connect(); await profile.post('Profiler.enable'); await profile.post('Profiler.setSamplingInterval', { interval: 100 }); }
for (let r = 0; r < 14; r++) {
  for (const f of r % 2 ? [resume, cp, plain, tail1m] : [tail1m, plain, cp, resume]) { execSync('sync'); if (r === 2 && profile) await profile.post('Profiler.start'); await f(); }
  if (r < 2) for (const k of Object.keys(phases)) phases[k] = [];
}
if (profile) { const { profile: p } = await profile.post('Profiler.stop'); await writeFile('/tmp/exp/resume.cpuprofile', JSON.stringify(p)); }
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(harness, MB, 'MB:', Object.entries(phases).map(([k, v]) => `${k} ${med(v).toFixed(1)}`).join(', '), ` ratio ${(med(phases.total!) / med(phases.cp!)).toFixed(2)}`);
await store.close(); await rm(root, { recursive: true });
