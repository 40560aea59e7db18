/**
 * The agent CLIs run bare, as a person runs them without baton: the real binary with the headless argv each harness
 * builds (harness.command), this machine's homes (already pointed at the scripted model by scriptedHome), and no
 * store. What `baton adopt` takes in is what these runs leave in the CLI's home.
 */
import { spawn } from 'node:child_process';
import type { HarnessId } from '../../src/harness/ids.js';
import { getHarness } from '../../src/harness/registry.js';
import type { Machine } from '../../src/testing/machine.js';
import type { AgentSetup } from '../../src/model/agent-setup.js';

const AGENT_SETUP_NONE: AgentSetup = {};

export interface BareRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One headless turn of the bare CLI in `cwd`: a new session, or a follow-up of `resume`. */
export async function runBareCli(machine: Machine, harnessId: HarnessId, prompt: string, options: { cwd?: string; resume?: string } = {}): Promise<BareRun> {
  const harness = getHarness(harnessId);
  const cwd = options.cwd ?? machine.cwd;
  const context = { home: harness.resolveHome(machine.env), cwd, env: machine.env };
  await harness.prepare(context, AGENT_SETUP_NONE);
  const request = options.resume
    ? ({ kind: 'resume', prompt, setup: AGENT_SETUP_NONE, resume: { sessionId: options.resume } } as const)
    : ({ kind: 'new', prompt, setup: AGENT_SETUP_NONE, sessionId: harness.newSessionId() } as const);
  const spec = await harness.command(context, request, { command: undefined, newArgs: undefined, resumeArgs: undefined });
  const env = { ...machine.env, ...spec.env };
  for (const name of spec.withoutEnv ?? []) delete env[name];
  return new Promise((resolve, reject) => {
    // Its own session, as baton starts it: without a controlling terminal (OpenCode's `run` waits on one otherwise).
    const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env, stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    if (spec.stdin !== undefined) child.stdin!.end(spec.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    // What it left in its group (OpenCode's background plugin install) would hold stdout open: it goes with it.
    child.once('exit', () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
