/**
 * How a run's CLI is contained. Two modes, one promise each:
 * - `bubblewrap`: the CLI and everything it starts run in a bubblewrap sandbox (own mount, PID, user, IPC and
 *   UTS namespaces): the system read-only, a private /tmp and /dev, /proc of its own PID namespace, an
 *   unprivileged uid, and of this machine only the run's own places (its cwd and the CLI's state) writable.
 * - `none`: the CLI sees the machine as baton does. It still runs in a PID namespace of its own that dies with
 *   baton (bubblewrap with the host's root bound as it is), so nothing it starts outlives the run; where
 *   bubblewrap cannot run, `setpriv --pdeathsig` makes at least the CLI itself die with baton.
 *
 * Either way the plan is argv only (no shell), and the sandbox's environment is only what baton passes on.
 */
import { realpath } from 'node:fs/promises';
import type { CommandSpec } from '../harness/harness.js';
import { bubblewrapSandboxArgs, pidNamespaceArgs, probeBubblewrap, probeSetpriv, readSystemLayout, SANDBOX_UID, sandboxAccounts } from './bubblewrap.js';

export { SANDBOX_UID } from './bubblewrap.js';

export const SANDBOX_MODES = ['bubblewrap', 'none'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export function isSandboxMode(value: string): value is SandboxMode {
  return (SANDBOX_MODES as readonly string[]).includes(value);
}

/** What one run's CLI may use of this machine, besides the read-only system. */
export interface Confinement {
  /** Bound read-write at the same path (the run's cwd and workspace, the CLI's state). */
  writable: string[];
  /** Bound read-only at the same path (the CLI's own package, when it lives outside the system folders). */
  readable: string[];
  /** HOME inside; an empty private directory unless it is among `writable`. */
  home: string;
  /** The whole environment inside: nothing else of baton's reaches the CLI. */
  env: Record<string, string>;
}

export type Containment = { mode: 'bubblewrap'; confinement: Confinement } | { mode: 'none' };

/** The process to start for a run: the CLI, or a supervisor (bubblewrap, setpriv) that starts it. */
export interface LaunchPlan {
  file: string;
  args: string[];
  /** The complete environment of the started process. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * The started process supervises the CLI (bubblewrap): an interrupt goes to the processes it started,
   * never to it, since a supervisor that dies of SIGINT takes the CLI down before the CLI can save.
   */
  supervised: boolean;
  /** Bytes to write to file descriptors 3, 4 … of the started process (bubblewrap's --ro-bind-data). */
  inputs: Buffer[];
  /** Text for the CLI's stdin (see CommandSpec.stdin); a supervisor passes its stdin on. */
  stdin?: string | undefined;
  /** How the run is contained, for the run's events. */
  description: string;
  /** The CLI takes baton's terminal (see CommandSpec.terminal). */
  terminal?: true | undefined;
}

export async function planLaunch(spec: CommandSpec, inheritedEnv: NodeJS.ProcessEnv, containment: Containment): Promise<LaunchPlan> {
  const plan = await planProcess(spec, inheritedEnv, containment);
  return { ...plan, ...(spec.stdin === undefined ? {} : { stdin: spec.stdin }), ...(spec.terminal ? { terminal: true as const } : {}) };
}

async function planProcess(spec: CommandSpec, inheritedEnv: NodeJS.ProcessEnv, containment: Containment): Promise<LaunchPlan> {
  if (containment.mode === 'bubblewrap') {
    const bubblewrap = await probeBubblewrap({ sandbox: true });
    const { confinement } = containment;
    const env = withoutVariables({ ...confinement.env, ...spec.env }, spec.withoutEnv);
    const accounts = sandboxAccounts(confinement.home);
    const system = await readSystemLayout();
    const readable = [...confinement.readable, ...spec.packagePaths, ...(system.resolvConf ? [system.resolvConf] : [])];
    const args = bubblewrapSandboxArgs({ ...confinement, readable, cwd: spec.cwd, accountFds: [3, 4], hidden: system.hidden, rootLinks: system.rootLinks });
    return {
      file: bubblewrap.path,
      // The real path: only the package's real folder is bound, not links on the way (pnpm, a symlinked node_modules).
      args: [...args, '--', await realpath(spec.file).catch(() => spec.file), ...spec.args],
      // bubblewrap hands its own environment to the CLI: values never appear in an argv, where `ps` shows them.
      env,
      cwd: spec.cwd,
      supervised: true,
      inputs: [accounts.passwd, accounts.group],
      description: `bubblewrap sandbox (uid ${SANDBOX_UID}; writable: ${confinement.writable.join(', ')})`,
    };
  }
  const env = withoutVariables({ ...inheritedEnv, ...spec.env }, spec.withoutEnv);
  const bubblewrap = await probeBubblewrap({ sandbox: false }).catch(() => undefined);
  if (bubblewrap) {
    return { file: bubblewrap.path, args: [...pidNamespaceArgs(), '--', spec.file, ...spec.args], env, cwd: spec.cwd, supervised: true, inputs: [], description: 'no sandbox (own PID namespace)' };
  }
  const setpriv = await probeSetpriv();
  if (setpriv) {
    return { file: setpriv, args: ['--pdeathsig', 'KILL', '--', spec.file, ...spec.args], env, cwd: spec.cwd, supervised: false, inputs: [], description: 'no sandbox (dies with baton)' };
  }
  return { file: spec.file, args: spec.args, env, cwd: spec.cwd, supervised: false, inputs: [], description: 'no sandbox' };
}

/**
 * Starts the probes planLaunch will wait for (a trial run of bwrap, tens of milliseconds), so that they run while
 * the launch is prepared rather than after it. Failures are planLaunch's to report (or to fall back from).
 */
export function startLaunchProbes(sandbox: boolean): void {
  probeBubblewrap({ sandbox }).catch(() => undefined);
}

function withoutVariables<T extends Record<string, string | undefined>>(env: T, names: readonly string[] | undefined): T {
  if (!names?.length) return env;
  const kept = { ...env };
  for (const name of names) delete kept[name];
  return kept;
}
