/**
 * bubblewrap (Debian `bubblewrap`, `bwrap`): the tool Codex and Claude Code use for their own Linux sandboxes.
 * verified with bubblewrap 0.8 as root: `--unshare-user --uid N` gives an unprivileged uid inside; a signal to
 * bwrap's process group reaches the processes inside; when the CLI exits, bwrap's init exits and the kernel
 * kills everything left in the PID namespace (`setsid nohup …` too); `--die-with-parent` does the same when
 * baton is killed with SIGKILL; the exit code is the CLI's (128 + n when it died of signal n).
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatonError, errorMessage } from '../errors.js';
import { findOnPath } from '../harness/executable.js';

const run = promisify(execFile);

/** The uid and gid the CLI has inside the sandbox: not root, so a compromised agent holds no privilege there. */
export const SANDBOX_UID = 1000;

const WITHOUT = 'run without the sandbox (drop --sandbox; a worker: --sandbox none)';
const INSTALL_HINT = `install bubblewrap (\`apt-get install bubblewrap\`), or ${WITHOUT}`;

export interface Bubblewrap {
  path: string;
}

const probes = new Map<string, Promise<Bubblewrap>>();

/**
 * Finds bwrap and checks once per process that it can create the namespaces a run needs (user namespaces may
 * be disabled, e.g. in some containers). SANDBOX_UNAVAILABLE with the fix otherwise.
 */
export function probeBubblewrap(options: { sandbox: boolean }): Promise<Bubblewrap> {
  const key = options.sandbox ? 'sandbox' : 'pid-namespace';
  let probe = probes.get(key);
  if (!probe) {
    probe = (async () => {
      if (process.platform !== 'linux') throw unavailable(`the bubblewrap sandbox needs Linux (this is ${process.platform})`, WITHOUT);
      const path = (await findOnPath('bwrap', process.env)) ?? (await findOnPath('bwrap', { PATH: '/usr/bin:/bin:/usr/local/bin' }));
      if (!path) throw unavailable('bubblewrap (bwrap) is not installed', INSTALL_HINT);
      const trial = options.sandbox
        ? [...namespaceArgs(), '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', '/bin/sh', '-c', ':']
        : [...pidNamespaceArgs(), '--', '/bin/sh', '-c', ':'];
      try {
        await run(path, trial, { timeout: 10_000, env: { PATH: '/usr/bin:/bin' } });
      } catch (error) {
        const detail = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) || errorMessage(error);
        throw unavailable(`bubblewrap cannot create the sandbox's namespaces here: ${detail}`, `allow user namespaces (e.g. \`sysctl kernel.unprivileged_userns_clone=1\`), or ${WITHOUT}`);
      }
      return { path };
    })();
    probes.set(key, probe);
  }
  return probe;
}

let setprivProbe: Promise<string | undefined> | undefined;

/** util-linux `setpriv`, for `--pdeathsig` where bubblewrap cannot run. */
export function probeSetpriv(): Promise<string | undefined> {
  setprivProbe ??= process.platform === 'linux' ? findOnPath('setpriv', { PATH: `${process.env.PATH ?? ''}:/usr/bin:/bin` }) : Promise.resolve(undefined);
  return setprivProbe;
}

function unavailable(message: string, hint: string): BatonError {
  return new BatonError('SANDBOX_UNAVAILABLE', message, { hint });
}

/** A new namespace for everything but the network (the CLI needs its model API); an unprivileged uid inside. */
function namespaceArgs(): string[] {
  return [
    '--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID),
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--hostname', 'baton-sandbox',
    '--die-with-parent',
  ];
}

/** No confinement, only a PID namespace that dies with baton; root keeps its capabilities (bwrap drops them). */
export function pidNamespaceArgs(): string[] {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return ['--dev-bind', '/', '/', '--unshare-pid', '--die-with-parent', '--proc', '/proc', ...(isRoot ? ['--cap-add', 'ALL'] : ['--unshare-user'])];
}

export interface SandboxLayout {
  writable: string[];
  readable: string[];
  home: string;
  cwd: string;
  /** The descriptors --ro-bind-data reads /etc/passwd and /etc/group from. */
  accountFds: [number, number];
  /** Files and folders of /etc to hide (see hiddenSystemEntries). */
  hidden: HiddenEntry[];
  /** Top-level links such as /bin → usr/bin, recreated inside. */
  rootLinks: RootEntry[];
}

export interface HiddenEntry {
  path: string;
  directory: boolean;
}

export type RootEntry = { name: string; link: string } | { name: string; directory: true };

/**
 * The sandbox: the system read-only, /etc without what only root may read (its uid maps to baton's outside,
 * so file modes alone would not hide root's files), a private /tmp, /dev and /proc, HOME an empty private
 * directory unless it is writable, the run's places writable, and the root itself read-only.
 */
export function bubblewrapSandboxArgs(layout: SandboxLayout): string[] {
  const args = [...namespaceArgs(), '--ro-bind', '/usr', '/usr'];
  for (const entry of layout.rootLinks) {
    if ('link' in entry) args.push('--symlink', entry.link, `/${entry.name}`);
    else args.push('--ro-bind', `/${entry.name}`, `/${entry.name}`);
  }
  args.push('--ro-bind', '/etc', '/etc');
  for (const entry of layout.hidden) args.push(...(entry.directory ? ['--tmpfs', entry.path] : ['--ro-bind', '/dev/null', entry.path]));
  args.push('--ro-bind-data', String(layout.accountFds[0]), '/etc/passwd', '--ro-bind-data', String(layout.accountFds[1]), '/etc/group');
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  const writable = [...new Set(layout.writable)].sort((a, b) => a.length - b.length);
  if (!writable.some((path) => isWithin(layout.home, path))) args.push('--dir', layout.home, '--tmpfs', layout.home);
  for (const path of [...new Set(layout.readable)].filter((path) => !writable.some((parent) => isWithin(path, parent)))) args.push('--ro-bind', path, path);
  for (const path of writable) args.push('--bind', path, path);
  args.push('--remount-ro', '/', '--chdir', layout.cwd);
  return args;
}

function isWithin(path: string, parent: string): boolean {
  return path === parent || path.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/** The accounts the sandbox knows: only its own user (whose home is the run's HOME), root and nobody. */
export function sandboxAccounts(home: string): { passwd: Buffer; group: Buffer } {
  const uid = String(SANDBOX_UID);
  return {
    passwd: Buffer.from(`root:x:0:0:root:/root:/usr/sbin/nologin\nbaton:x:${uid}:${uid}:baton run:${home}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`),
    group: Buffer.from(`root:x:0:\nbaton:x:${uid}:\nnogroup:x:65534:\n`),
  };
}

const ROOT_CANDIDATES = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
let systemLayout: Promise<{ rootLinks: RootEntry[]; hidden: HiddenEntry[]; resolvConf: string | undefined }> | undefined;

/** What the sandbox shows of the system, read once per process: /bin-style links, and what /etc must hide. */
export function readSystemLayout(): Promise<{ rootLinks: RootEntry[]; hidden: HiddenEntry[]; resolvConf: string | undefined }> {
  systemLayout ??= (async () => {
    const rootLinks: RootEntry[] = [];
    for (const name of ROOT_CANDIDATES) {
      const info = await lstat(`/${name}`).catch(() => undefined);
      if (info?.isSymbolicLink()) rootLinks.push({ name, link: await readlink(`/${name}`) });
      else if (info?.isDirectory()) rootLinks.push({ name, directory: true });
    }
    // /etc/resolv.conf is often a link into /run (systemd-resolved): the resolver's file must be there too.
    const resolved = await realpath('/etc/resolv.conf').catch(() => undefined);
    return { rootLinks, hidden: await hiddenSystemEntries('/etc'), resolvConf: resolved && !resolved.startsWith('/etc/') ? resolved : undefined };
  })();
  return systemLayout;
}

/**
 * Every entry under `root` that an unprivileged user could not read: /etc/shadow, SSH host keys,
 * /etc/ssl/private … An unreadable folder is hidden whole (replaced by an empty one).
 */
export async function hiddenSystemEntries(root: string): Promise<HiddenEntry[]> {
  const hidden: HiddenEntry[] = [];
  async function walk(directory: string, depth: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isSymbolicLink()) continue; // a link shows its target's own protection
      const info = await lstat(path).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) {
        if ((info.mode & 0o005) !== 0o005) hidden.push({ path, directory: true });
        else if (depth < 6) await walk(path, depth + 1);
      } else if (info.isFile() && (info.mode & 0o004) === 0) {
        hidden.push({ path, directory: false });
      }
    }
  }
  await walk(root, 0);
  return hidden;
}

