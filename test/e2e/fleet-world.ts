/**
 * A fleet for end-to-end tests: a throwaway PostgreSQL cluster, the scripted model server, the real
 * `baton serve` and any number of real `baton worker` processes (each its own data directory, hence its own
 * homes and working directories), all started as the README tells an operator to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessHomeVariables } from '../../src/harness/registry.js';
import { createMachine, SCRIPTED_KEY_VARIABLES } from '../../src/testing/machine.js';
import { startScriptedModelServer, type RecordedRequest, type Script, type ScriptedModelServer } from '../../src/testing/scripted-model-server.js';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.js';
import { BATON, testScript, waitFor } from './world.js';

/**
 * The tests' model (world.ts), plus: a prompt or command output containing PAUSE is answered after 4 s, and
 * the continuation prompt of a handed-back run (it starts with "[baton]") is answered at once.
 */
export const fleetScript: Script = (request, index) => {
  const prompt = request.prompt ?? '';
  if (!request.lastIsToolOutput && prompt.startsWith('[baton]')) return { kind: 'text', text: 'CONTINUED after the handoff' };
  const reply = testScript(request, index);
  const trigger = request.lastIsToolOutput ? (request.toolOutput ?? '') : prompt;
  return trigger.includes('PAUSE') && reply.kind === 'text' ? { ...reply, delayMs: 4_000 } : reply;
};

export interface FleetProcess {
  name: string;
  child: ChildProcess;
  /** Everything it printed so far on stderr. */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Worker extends FleetProcess {
  dataDir: string;
}

/**
 * The operator's model keys, as a worker's environment holds them: the workers' model proxy sends them to the
 * scripted model (the upstream); no agent may ever see them.
 */
export const OPERATOR_OPENAI_KEY = 'sk-operator-openai-fleet-0123456789abcdefghij';
export const OPERATOR_ANTHROPIC_KEY = 'sk-ant-operator-fleet-0123456789abcdefghij';

export interface Fleet {
  root: string;
  cluster: PostgresCluster;
  model: ScriptedModelServer;
  serverUrl: string;
  /** The environment every baton process gets: BATON_STORE, the scripted model's keys, no CLI homes. */
  env: NodeJS.ProcessEnv;
  /** A bearer token of a new tenant. */
  token(tenant: string): Promise<string>;
  startWorker(name: string, args?: string[]): Promise<Worker>;
  /** Runs `baton …args` to its end. */
  baton(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }>;
  api(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Polls the run until `accept` holds. */
  waitForRun(token: string, runId: string, accept: (run: any) => boolean, what: string, timeoutMs?: number): Promise<any>;
  turns(): RecordedRequest[];
  cleanup(): Promise<void>;
}

/**
 * One API call to a `baton serve` at `serverUrl`: its status and body (parsed JSON, else the text). Without a token
 * no Authorization header is sent; a string body is sent as it is (a test's malformed JSON).
 */
export async function apiRequest(serverUrl: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${serverUrl}${path}`, {
    method,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body: parsed };
}

export function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): FleetProcess {
  const child = spawn(process.execPath, [BATON, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { name, child, log: () => stderr, exited };
}

export async function createFleet(options: { script?: Script; leaseSeconds?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Fleet> {
  const root = await mkdtemp(join(tmpdir(), 'baton-fleet-'));
  const cluster = await startPostgresCluster();
  const model = await startScriptedModelServer({ script: options.script ?? testScript });
  // The operator's keys and the model's URLs, as a worker's machine has them: the workers' model proxy sends
  // OpenAI requests to --upstream-openai and Anthropic ones to ANTHROPIC_BASE_URL, with these keys.
  const machine = await createMachine(root, 'operator', model);
  const env: NodeJS.ProcessEnv = { ...machine.env, BATON_STORE: cluster.url, OPENAI_API_KEY: OPERATOR_OPENAI_KEY, ANTHROPIC_API_KEY: OPERATOR_ANTHROPIC_KEY, ...options.env };
  for (const variable of [...harnessHomeVariables(), ...SCRIPTED_KEY_VARIABLES]) delete env[variable];
  // The CLI homes come from the home template: settings, no provider and no key (the proxy's are written per run).
  const template = join(root, 'home-template');
  await mkdir(join(template, '.codex'), { recursive: true, mode: 0o700 });
  await writeFile(join(template, '.codex', 'config.toml'), 'model = "scripted-model"\n', { mode: 0o600 });

  const processes: FleetProcess[] = [];
  const migrated = startProcess('migrate', ['migrate'], env, root);
  const migration = await migrated.exited;
  if (migration.code !== 0) throw new Error(`baton migrate failed:\n${migrated.log()}`);

  const server = startProcess('serve', ['serve', '--port', '0'], env, root);
  processes.push(server);
  const serverUrl = await waitFor(() => /listening on (http:\/\/\S+)/.exec(server.log())?.[1], `baton serve to listen:\n${server.log()}`, 30_000);

  const fleet: Fleet = {
    root,
    cluster,
    model,
    serverUrl,
    env,
    async token(tenant) {
      const result = await fleet.baton(['token', 'create', '--tenant', tenant]);
      if (result.code !== 0) throw new Error(`token create failed: ${result.stderr}`);
      return result.stdout.trim().split('\n').at(-1)!;
    },
    async startWorker(name, args = []) {
      const dataDir = join(root, 'workers', name);
      await mkdir(dataDir, { recursive: true });
      const worker = startProcess(name, ['worker', '--name', name, '--data-dir', dataDir, '--home-template', template, '--lease-seconds', String(options.leaseSeconds ?? 6), '--upstream-openai', model.openaiBaseUrl, ...args], env, dataDir);
      processes.push(worker);
      await waitFor(() => worker.log().includes('waiting for runs') || undefined, `worker ${name} to start:\n${worker.log()}`, 30_000);
      return { ...worker, dataDir };
    },
    baton(args, extraEnv = {}) {
      const child = startProcess('baton', args, { ...env, ...extraEnv }, root);
      let stdout = '';
      child.child.stdout!.removeAllListeners('data');
      child.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      return child.exited.then(({ code }) => ({ code, stdout, stderr: child.log() }));
    },
    api: (token, method, path, body) => apiRequest(serverUrl, token, method, path, body),
    async waitForRun(token, runId, accept, what, timeoutMs = 90_000) {
      return waitFor(async () => {
        const { status, body } = await fleet.api(token, 'GET', `/v1/runs/${runId}`);
        if (status !== 200) throw new Error(`GET /v1/runs/${runId}: ${status} ${JSON.stringify(body)}`);
        return accept(body) ? body : undefined;
      }, what, timeoutMs);
    },
    turns: () => model.requests.filter((request) => request.turn),
    async cleanup() {
      for (const process_ of processes) process_.child.kill('SIGKILL');
      await Promise.all(processes.map((process_) => process_.exited));
      await killProcessesUnder(root);
      await model.close();
      await cluster.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return fleet;
}

/** Kills every process whose HOME lies under `directory` (the CLIs a SIGKILLed worker left behind). */
export async function killProcessesUnder(directory: string): Promise<number> {
  let killed = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8');
      const home = environ.split('\0').find((variable) => variable.startsWith('HOME='));
      if (home?.slice(5).startsWith(`${directory}/`)) {
        process.kill(Number(entry), 'SIGKILL');
        killed++;
      }
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return killed;
}
