/**
 * `baton adopt [SESSION_ID | FILE] --harness H [--cwd DIR] [--latest] [--sync] [--server URL]`: a session started
 * with the bare CLI on this machine becomes a conversation in the store (see src/run/adopt.ts), ready to resume
 * anywhere. With --server (or $BATON_SERVER, token $BATON_TOKEN) the store is the server's, through its store API
 * (RemoteStore): the conversation belongs to the token's tenant, and a follow-up there runs on a worker.
 */
import { realpath, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError } from '../errors.js';
import type { SessionQuery } from '../harness/harness.js';
import { HARNESS_IDS } from '../harness/ids.js';
import { harnessFromName } from '../harness/registry.js';
import { adoptSession } from '../run/adopt.js';
import { DEFAULT_LEASE_MS, runRedactor } from '../run/runner.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from '../workspace/workspace.js';
import { STORE_API_MAX_SNAPSHOT_BYTES } from '../server/store-api-limits.js';
import type { GlobalOptions } from './context.js';
import { withOpenStore } from './open-command.js';
import { remoteTarget } from './remote.js';
import { terminalJson, terminalLine } from './terminal-text.js';

interface AdoptOptions {
  harness: string;
  cwd?: string;
  latest?: boolean;
  sync?: boolean;
  asNew?: boolean;
  workspace: boolean;
  redact: boolean;
  json?: boolean;
  server?: string;
}

export function registerAdoptCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('adopt')
    .description('take a session started with the bare agent CLI on this machine into the store as a new conversation, with its workspace; prints the conversation id')
    .argument('[session]', "the CLI's session id, or the path of its session file (the file the CLI wrote for the session, or its export)")
    .requiredOption('--harness <name>', `the CLI that ran the session: ${HARNESS_IDS.join(', ')}`)
    .option('--cwd <dir>', 'the directory the session ran in (default: the current directory for --latest, else the one the session recorded); its files are snapshotted')
    .option('--latest', "the CLI's most recently updated session that ran in the directory (--cwd, default the current one)")
    .option('--sync', 'the session was adopted (or started by baton) already: append the turns its local copy gained since')
    .option('--as-new', 'adopt it into a new conversation even if the store holds one with this session (e.g. after SESSION_DIVERGED)')
    .option('--no-workspace', 'adopt the transcript alone, without the files of its directory')
    .option('--no-redact', 'store the session byte for byte, secrets included (see Security model in the README)')
    .option('--server <url>', "adopt it into a baton server's store (default $BATON_SERVER; token from $BATON_TOKEN), for the token's tenant: follow-ups there run on its workers")
    .option('--json', 'print {conversationId, harness, sessionId, runId, outcome, path, workspace}')
    .action(async (session: string | undefined, options: AdoptOptions) => {
      const harness = harnessFromName(options.harness);
      if ((session === undefined) === !options.latest) {
        throw new BatonError('USAGE', session === undefined ? 'name the session to adopt' : 'a session and --latest were both given', {
          hint: 'pass its session id or session file, or --latest for the newest session that ran in this directory (or --cwd DIR)',
        });
      }
      if (options.sync && options.asNew) throw new BatonError('USAGE', '--sync and --as-new exclude each other', { hint: '--sync appends to the existing conversation; --as-new makes another one' });
      const explicitCwd = options.cwd === undefined ? undefined : await existingDirectory(options.cwd);
      const cwd = explicitCwd ?? (await realpath(process.cwd()));
      const query: SessionQuery = options.latest ? { latestFor: cwd } : await sessionQuery(session!);
      const context = { home: harness.resolveHome(process.env), cwd, env: process.env };
      const remote = remoteTarget(options.server);
      await withOpenStore(globals(), remote, async ({ store }) => {
        const redactor = await runRedactor(harness, context, { redaction: { enabled: options.redact } });
        const result = await adoptSession({
          store,
          harness,
          context,
          query,
                    // A snapshot travels to a server in one request: larger than its limit, it is recorded as too large.
          workspace: options.workspace ? { dir: explicitCwd, maxBytes: remote ? Math.min(DEFAULT_MAX_SNAPSHOT_BYTES, STORE_API_MAX_SNAPSHOT_BYTES) : DEFAULT_MAX_SNAPSHOT_BYTES, includeSecrets: false } : false,
          sync: options.sync === true,
          asNew: options.asNew === true,
          redactor,
          host: hostname(),
          leaseMs: DEFAULT_LEASE_MS,
        });
        if (options.json) {
          process.stdout.write(`${terminalJson({ ...result, runId: result.runId ?? null, workspace: result.workspace ?? null })}\n`);
          return;
        }
        const id = terminalLine(result.conversationId);
        const said = {
          adopted: `adopted ${harness.displayName} session ${terminalLine(result.sessionId)} as ${id}${result.workspace ? ` with the files of ${terminalLine(result.workspace)}` : ''}`,
          synced: `appended what session ${terminalLine(result.sessionId)} gained here to ${id}`,
          unchanged: `${id} already holds everything session ${terminalLine(result.sessionId)} has here`,
        }[result.outcome];
        const where = remote ? ` --server ${terminalLine(remote.url)}` : '';
        process.stderr.write(`${said}; continue it anywhere with \`baton resume${where} ${id} PROMPT\`\n`);
        process.stdout.write(`${id}\n`);
      });
    });
}

/** A path that names a file is a session file; anything else is a session id (the harness checks its form). */
async function sessionQuery(session: string): Promise<SessionQuery> {
  const isFile = (await stat(session).catch(() => undefined))?.isFile() ?? false;
  return isFile || session.includes('/') ? { file: session } : { sessionId: session };
}

async function existingDirectory(dir: string): Promise<string> {
  try {
    const path = await realpath(resolve(dir));
    if ((await stat(path)).isDirectory()) return path;
  } catch {
    // reported below
  }
  throw new BatonError('USAGE', `--cwd ${dir} is not a directory`, { hint: 'name the directory the session ran in' });
}
