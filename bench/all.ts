/**
 * `npm run bench [-- OPTIONS]`: every benchmark in turn, each given the options it understands. (npm appends the
 * arguments after `--` to the script's last command only, so a `a && b && c` script would hand `--quick` to the
 * last benchmark alone.)
 *
 *   bench/run.ts         transcripts, resume, `baton run` overhead, encryption, object storage  → bench/results.json
 *   bench/workspace.ts   workspace snapshots                                                      → bench/workspace-results.json
 *   bench/fleet.ts       the server and queue on a throwaway PostgreSQL                            → bench/fleet-results.json
 *   bench/model-proxy.ts the worker's model proxy                                                  → bench/model-proxy-results.json
 *
 * Options: every option of bench/run.ts (it lists them), `--quick` for all of them, and `--only NAME[,NAME…]`
 * (run, workspace, fleet, model-proxy) to run some of them. Exits with the first failing benchmark's code.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const BENCHES = ['run', 'workspace', 'fleet', 'model-proxy'] as const;
type Bench = (typeof BENCHES)[number];

const argv = process.argv.slice(2);
const onlyAt = argv.findIndex((arg) => arg === '--only' || arg.startsWith('--only='));
const onlyValue = onlyAt < 0 ? undefined : argv[onlyAt]!.startsWith('--only=') ? argv[onlyAt]!.slice('--only='.length) : argv[onlyAt + 1];
const chosen = onlyValue === undefined ? [...BENCHES] : onlyValue.split(',');
for (const name of chosen) {
  if (!(BENCHES as readonly string[]).includes(name)) {
    process.stderr.write(`bench: unknown benchmark "${name}" after --only (choose from ${BENCHES.join(', ')})\n`);
    process.exit(2);
  }
}
const rest = onlyAt < 0 ? argv : argv.filter((_, index) => index !== onlyAt && !(index === onlyAt + 1 && !argv[onlyAt]!.includes('=')));
const quick = rest.includes('--quick') ? ['--quick'] : [];
/** bench/run.ts takes every option (and refuses what it does not know); the others know --quick. */
const optionsOf = (bench: Bench): string[] => (bench === 'run' ? rest : quick);

const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
for (const bench of BENCHES.filter((name) => chosen.includes(name))) {
  process.stderr.write(`\n=== bench/${bench}.ts ${optionsOf(bench).join(' ')}\n`);
  const result = spawnSync(tsx, [join(ROOT, 'bench', `${bench}.ts`), ...optionsOf(bench)], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
