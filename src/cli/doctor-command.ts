/**
 * `baton doctor`: is this machine ready to run agents? One line per check, ✓ / ! / ✗, each failure with its fix:
 * every harness's CLI (found, its version against the tested line) and credentials (as the preflight of a run
 * finds them), the store (opens, schema up to date, file modes), the run queue on PostgreSQL, the sandbox
 * (bubblewrap and user namespaces), and the server with --server / BATON_SERVER (reachable, the token accepted).
 * Exit 1 when any check fails; `--json` prints {ok, checks} and nothing else on stdout.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { batonDirectory, commandTemplates, harnessEnvironment, type BatonConfig } from '../config.js';
import { BatonError, errorMessage } from '../errors.js';
import type { Harness } from '../harness/harness.js';
import { harnessFromName, listHarnesses } from '../harness/registry.js';
import { checkCli, checkCredentials } from '../run/preflight.js';
import { openStore, resolveContext, type GlobalOptions, type StoreTarget } from './context.js';
import { terminalJson, terminalLine } from './terminal-text.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** What was checked: `codex CLI`, `claude credentials`, `store`, `queue`, `sandbox`, `server`. */
  name: string;
  status: CheckStatus;
  /** What was found, or what is wrong. */
  detail: string;
  /** What to do, for `warn` and `fail`. */
  fix?: string | undefined;
}

const ok = (name: string, detail: string): DoctorCheck => ({ name, status: 'ok', detail });
const failed = (name: string, error: unknown, status: CheckStatus = 'fail'): DoctorCheck => ({
  name,
  status,
  detail: errorMessage(error),
  fix: error instanceof BatonError ? error.hint : undefined,
});

export function registerDoctorCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('doctor')
    .description('check that this machine can run agents: each CLI and its credentials, the store, the sandbox, the server')
    .option('--harness <name>', 'check this harness only')
    .option('--server <url>', 'also check this baton server and $BATON_TOKEN (default $BATON_SERVER)')
    .option('--json', 'print {ok, checks: [{name, status, detail, fix}]} and nothing else on stdout')
    .action(async (options: { harness?: string; server?: string; json?: boolean }) => {
      const checks = await runDoctor(globals(), options);
      const healthy = checks.every((check) => check.status !== 'fail');
      if (options.json) process.stdout.write(`${terminalJson({ ok: healthy, checks })}\n`);
      else process.stdout.write(renderChecks(checks));
      process.exitCode = healthy ? 0 : 1;
    });
}

export async function runDoctor(globals: GlobalOptions, options: { harness?: string; server?: string }): Promise<DoctorCheck[]> {
  const harnesses = options.harness ? [harnessFromName(options.harness)] : listHarnesses();
  let context: Awaited<ReturnType<typeof resolveContext>>;
  try {
    context = await resolveContext(globals);
  } catch (error) {
    return [failed('config', error)];
  }
  const { config, target } = context;
  const groups = await Promise.all([
    ...harnesses.map((harness) => harnessChecks(harness, config)),
    storeChecks(target),
    sandboxCheck().then((check) => [check]),
    serverChecks(options.server),
  ]);
  return groups.flat();
}

async function harnessChecks(harness: Harness, config: BatonConfig): Promise<DoctorCheck[]> {
  const env = { ...process.env, ...harnessEnvironment(config, harness.id) };
  const input = { harness, configuredCommand: commandTemplates(config, harness.id).command, batonDirectory: batonDirectory(env) };
  let cli: Awaited<ReturnType<typeof checkCli>>;
  try {
    cli = await checkCli({ ...input, env });
  } catch (error) {
    return [failed(`${harness.id} CLI`, error)];
  }
  const found = `${harness.displayName} ${cli.version ?? '(version unknown)'} at ${cli.executable}`;
  const cliCheck: DoctorCheck = cli.warning
    ? { name: `${harness.id} CLI`, status: 'warn', detail: cli.warning, fix: `baton is tested with ${harness.preflight.testedVersions}.x` }
    : ok(`${harness.id} CLI`, `${found} (tested with ${harness.preflight.testedVersions}.x)`);
  const credentials = await checkCredentials({ ...input, executable: cli.executable, context: { home: harness.resolveHome(env), cwd: process.cwd(), env } }).then(
    (source) => ok(`${harness.id} credentials`, source),
    (error: unknown) => failed(`${harness.id} credentials`, error),
  );
  return [cliCheck, credentials];
}

async function storeChecks(target: StoreTarget): Promise<DoctorCheck[]> {
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(target);
  } catch (error) {
    return [failed('store', error)];
  }
  try {
    const checks: DoctorCheck[] = [];
    const conversations = (await store.listConversations()).length;
    const encryption = 'encryptionStatus' in store ? (store as { encryptionStatus: { encrypted: boolean } }).encryptionStatus.encrypted : false;
    checks.push(ok('store', `${store.location}: opens, schema up to date, ${conversations} conversation${conversations === 1 ? '' : 's'}${encryption ? ', encrypted at rest' : ', not encrypted (`baton keys enable` encrypts it)'}${target.blobs ? `, bodies in ${target.blobs}` : ''}`));
    if (/^postgres(ql)?:\/\//.test(target.location)) checks.push(await queueCheck(store));
    else checks.push(await fileModeCheck(target.location));
    return checks;
  } finally {
    await store.close();
  }
}

/** The SQLite file and its folder are the user's alone: transcripts are in there. */
async function fileModeCheck(path: string): Promise<DoctorCheck> {
  const open: string[] = [];
  for (const [what, file, private_] of [['file', path, 0o600], ['folder', dirname(path), 0o700]] as const) {
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & 0o077) !== 0) open.push(`the store's ${what} ${file} is mode ${mode.toString(8).padStart(4, '0')} (others can read it), not ${private_.toString(8).padStart(4, '0')}`);
  }
  if (open.length === 0) return ok('store files', `${path} and its folder are yours alone (0600, 0700)`);
  return { name: 'store files', status: 'fail', detail: open.join('; '), fix: `chmod 600 '${path}'* && chmod 700 '${dirname(path)}'` };
}

/** graphile-worker's schema on the store's PostgreSQL: made by `baton migrate` or the first `baton serve` / `baton worker`. */
async function queueCheck(store: object): Promise<DoctorCheck> {
  const jobs = 'queuedJobCount' in store ? await (store as { queuedJobCount(): Promise<number | undefined> }).queuedJobCount() : undefined;
  if (jobs === undefined) return { name: 'queue', status: 'warn', detail: 'the run queue (graphile-worker) is not set up on this PostgreSQL yet', fix: 'start `baton serve` (it sets the queue up) before queueing runs' };
  return ok('queue', `graphile-worker on the store's PostgreSQL, ${jobs} job(s) waiting or running`);
}

async function sandboxCheck(): Promise<DoctorCheck> {
  const { probeBubblewrap } = await import('../sandbox/bubblewrap.js');
  return probeBubblewrap({ sandbox: true }).then(
    (bubblewrap) => ok('sandbox', `bubblewrap at ${bubblewrap.path} creates user, PID and mount namespaces: --sandbox works`),
    (error: unknown) => failed('sandbox', error, 'warn'),
  );
}

async function serverChecks(server: string | undefined): Promise<DoctorCheck[]> {
  const url = server ?? process.env.BATON_SERVER;
  if (url === undefined || url === '') return [];
  try {
    const { RemoteClient, remoteTarget } = await import('./remote.js');
    const target = remoteTarget(server)!;
    const answer = await new RemoteClient(target).request<{ harnesses: Array<{ id: string }> }>('GET', '/v1/harnesses');
    return [ok('server', `${target.url} answers, the token is accepted; harnesses: ${answer.harnesses.map((harness) => harness.id).join(', ')}`)];
  } catch (error) {
    return [failed('server', error)];
  }
}

const MARKS: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

export function renderChecks(checks: DoctorCheck[]): string {
  const width = Math.max(...checks.map((check) => check.name.length));
  const lines = checks.map((check) => {
    const line = `${MARKS[check.status]} ${check.name.padEnd(width)}  ${terminalLine(check.detail)}`;
    return check.fix && check.status !== 'ok' ? `${line}\n  ${' '.repeat(width)}  fix: ${terminalLine(check.fix)}` : line;
  });
  const failures = checks.filter((check) => check.status === 'fail').length;
  const warnings = checks.filter((check) => check.status === 'warn').length;
  const harnesses = [...new Set(checks.filter((check) => / (CLI|credentials)$/.test(check.name)).map((check) => check.name.split(' ')[0]!))];
  const ready = harnesses.filter((id) => checks.every((check) => !check.name.startsWith(`${id} `) || check.status !== 'fail'));
  const readyLine = harnesses.length === 0 ? '' : `; ready to run: ${ready.length > 0 ? ready.join(', ') : 'none of the harnesses'}`;
  const summary = `${failures === 0 ? 'all checks passed' : `${failures} check${failures === 1 ? '' : 's'} failed`}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}${readyLine}`;
  return `${lines.join('\n')}\n${summary}\n`;
}
