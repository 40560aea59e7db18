/**
 * The containment of a run, with the real bubblewrap: what a process in the sandbox can see and write, which
 * environment it gets, and that nothing it starts outlives it.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hiddenSystemEntries } from '../../src/sandbox/bubblewrap.js';
import { sandboxEnvironment } from '../../src/sandbox/environment.js';
import { planLaunch, SANDBOX_UID, type Containment } from '../../src/sandbox/sandbox.js';
import { spawnCli } from '../../src/run/child-process.js';

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function place(): Promise<{ root: string; home: string; cwd: string; other: string; store: string }> {
  const root = await mkdtemp(join(tmpdir(), 'baton-sandbox-'));
  roots.push(root);
  const paths = { root, home: join(root, 'run', 'home'), cwd: join(root, 'run', 'work'), other: join(root, 'other-run', 'work'), store: join(root, 'store') };
  for (const path of [paths.home, paths.cwd, paths.other, paths.store]) await mkdir(path, { recursive: true });
  await writeFile(join(paths.other, 'secret.txt'), 'OTHER-RUN-SECRET\n');
  await writeFile(join(paths.store, 'baton.db'), 'STORE-BYTES\n');
  return paths;
}

/** Runs `script` with /bin/sh under the given containment; stdout, stderr and the exit. */
async function runContained(script: string, cwd: string, containment: Containment, env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; exitCode: number | null }> {
  const plan = await planLaunch({ file: '/bin/sh', args: ['-c', script], env: {}, cwd, packagePaths: [] }, env, containment);
  const child = spawnCli(plan);
  const lines: string[] = [];
  for await (const line of child.lines) lines.push(line);
  const exit = await child.exited;
  return { stdout: lines.join('\n'), exitCode: exit.exitCode };
}

function sandboxed(paths: { home: string; cwd: string }, env: Record<string, string> = {}): Containment {
  return { mode: 'bubblewrap', confinement: { writable: [paths.cwd, paths.home], readable: [], home: paths.home, env: { PATH: '/usr/bin:/bin', HOME: paths.home, ...env } } };
}

describe('the bubblewrap sandbox', () => {
  it('runs an unprivileged uid that writes its home and cwd, and nothing else: not /etc, not the store, not another run', async () => {
    const paths = await place();
    const script = [
      'id -u',
      'for target in /etc/baton-probe /usr/baton-probe /baton-probe; do touch "$target" 2>/dev/null && echo "WROTE $target"; done',
      // These places are not there inside: what is written lands in the sandbox's private /tmp, never here.
      `for target in ${paths.store}/x ${paths.other}/x ${paths.root}/x; do mkdir -p "$(dirname "$target")" 2>/dev/null; touch "$target" 2>/dev/null; done`,
      'touch "$HOME/in-home" ./in-cwd /tmp/in-tmp && echo wrote-own-places',
    ].join('\n');
    const { stdout, exitCode } = await runContained(script, paths.cwd, sandboxed(paths));
    expect(exitCode).toBe(0);
    expect(stdout.split('\n')[0]).toBe(String(SANDBOX_UID));
    expect(stdout).not.toContain('WROTE');
    expect(stdout).toContain('wrote-own-places');
    expect((await readdir(paths.root)).sort()).toEqual(['other-run', 'run', 'store']);
    expect((await stat(join(paths.home, 'in-home'))).isFile()).toBe(true);
    expect((await stat(join(paths.cwd, 'in-cwd'))).isFile()).toBe(true);
    expect(await readdir(paths.store)).toEqual(['baton.db']);
    expect(await readdir(paths.other)).toEqual(['secret.txt']);
    // The private /tmp went with the sandbox.
    await expect(stat('/tmp/in-tmp')).rejects.toThrow();
  });

  it('shows nothing of the machine but the system: no other run, no store, no processes but its own, no root-only files', async () => {
    const paths = await place();
    const script = [
      `cat ${paths.other}/secret.txt 2>&1`,
      `cat ${paths.store}/baton.db 2>&1`,
      `ls ${paths.root}`,
      'ls /',
      'echo "processes: $(ls /proc | grep -c "^[0-9]")"',
      'cat /etc/shadow 2>&1 | head -1',
      'getent passwd | cut -d: -f1 | sort | tr "\\n" " "',
    ].join('\n');
    const { stdout } = await runContained(script, paths.cwd, sandboxed(paths));
    expect(stdout).not.toContain('OTHER-RUN-SECRET');
    expect(stdout).not.toContain('STORE-BYTES');
    // Of the temporary root, only the run's own folder is there; of /, only the system.
    expect(stdout).toMatch(/^run$/m);
    expect(stdout).not.toMatch(/^(other-run|store)$/m);
    expect(stdout).not.toMatch(/^(root|work|home|opt|srv|var)$/m);
    const processes = Number(/processes: (\d+)/.exec(stdout)?.[1]);
    expect(processes).toBeGreaterThan(0);
    expect(processes).toBeLessThan(10); // bubblewrap's init, the shell and its pipeline; the machine has hundreds
    expect(stdout).not.toMatch(/^root:[^:]*:\d+/m);
    expect(stdout).toContain('baton nobody root');
  });

  it('hides what only root may read under /etc (files and folders), and nothing an unprivileged user may read', async () => {
    const root = await mkdtemp(join(tmpdir(), 'baton-etc-'));
    roots.push(root);
    await writeFile(join(root, 'shadow'), 'x', { mode: 0o640 });
    await writeFile(join(root, 'hosts'), 'x', { mode: 0o644 });
    await mkdir(join(root, 'private'), { mode: 0o710 });
    await mkdir(join(root, 'ssl', 'certs'), { recursive: true, mode: 0o755 });
    await writeFile(join(root, 'ssl', 'certs', 'key.pem'), 'x', { mode: 0o600 });
    expect(await hiddenSystemEntries(root)).toEqual(
      expect.arrayContaining([
        { path: join(root, 'shadow'), directory: false },
        { path: join(root, 'private'), directory: true },
        { path: join(root, 'ssl', 'certs', 'key.pem'), directory: false },
      ]),
    );
    expect((await hiddenSystemEntries(root)).map((entry) => entry.path)).not.toContain(join(root, 'hosts'));
  });

  it('passes on only the basics, the harness\'s variables and what the operator names; never BATON_*', () => {
    const env = sandboxEnvironment(
      { PATH: '/usr/bin', LANG: 'C.UTF-8', OPENAI_API_KEY: 'sk-model', BATON_STORE: 'postgres://u:pw@db/baton', BATON_TOKEN: 't', DATABASE_URL: 'postgres://x', GITHUB_TOKEN: 'ghp_x', EXTRA_ONE: '1', HOME: '/root' },
      { passOn: ['OPENAI_*', 'EXTRA_ONE', 'BATON_*'], home: '/run/home', user: 'baton' },
    );
    expect(env).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8', OPENAI_API_KEY: 'sk-model', EXTRA_ONE: '1', HOME: '/run/home', USER: 'baton', LOGNAME: 'baton', SHELL: '/bin/bash', TMPDIR: '/tmp' });
  });

  it('keeps values out of the command line, where `ps` would show them', async () => {
    const paths = await place();
    const plan = await planLaunch({ file: '/bin/true', args: [], env: { CODEX_HOME: paths.home }, cwd: paths.cwd, packagePaths: [] }, process.env, sandboxed(paths, { OPENAI_API_KEY: 'sk-secret-value' }));
    expect(plan.args.join(' ')).not.toContain('sk-secret-value');
    expect(plan.env.OPENAI_API_KEY).toBe('sk-secret-value');
    expect(plan.env.CODEX_HOME).toBe(paths.home);
  });
});

/** Pids whose whole command line is `commandLine` (arguments joined by spaces). */
async function processesWith(commandLine: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((part) => part !== '');
    if (argv.join(' ') === commandLine) pids.push(Number(entry));
  }
  return pids;
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return probe();
}

describe.each([
  ['in the sandbox', true],
  ['without a sandbox', false],
])('nothing outlives its run, %s', (_name, inSandbox) => {
  it('takes processes the CLI started with setsid nohup when the CLI exits', async () => {
    const paths = await place();
    const marker = `${Math.floor(Math.random() * 1e6) + 1000000}`;
    const containment: Containment = inSandbox ? sandboxed(paths) : { mode: 'none' };
    const { exitCode } = await runContained(`setsid nohup sleep ${marker} >/dev/null 2>&1 & sleep 0.3; exit 3`, paths.cwd, containment);
    expect(exitCode).toBe(3);
    expect(await waitUntil(async () => (await processesWith(`sleep ${marker}`)).length === 0, 2_000)).toBe(true);
  });

  it('takes the CLI and everything it started when baton itself is killed with SIGKILL', async () => {
    const paths = await place();
    const marker = `${Math.floor(Math.random() * 1e6) + 2000000}`;
    const containment = JSON.stringify(inSandbox ? sandboxed(paths) : { mode: 'none' });
    // A stand-in for baton: a Node process that launches the "CLI" as the runner does, then is killed.
    const program = `
      const { planLaunch } = await import(${JSON.stringify(new URL('../../src/sandbox/sandbox.ts', import.meta.url).pathname)});
      const { spawnCli } = await import(${JSON.stringify(new URL('../../src/run/child-process.ts', import.meta.url).pathname)});
      const plan = await planLaunch({ file: '/bin/sh', args: ['-c', 'setsid nohup sleep ${marker} >/dev/null 2>&1 & sleep ${marker}'], env: {}, cwd: ${JSON.stringify(paths.cwd)}, packagePaths: [] }, process.env, ${containment});
      spawnCli(plan);
      console.log('started');
      setInterval(() => {}, 1000);`;
    const baton = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => baton.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve()));
    expect(await waitUntil(async () => (await processesWith(`sleep ${marker}`)).length === 2, 5_000)).toBe(true);
    baton.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await waitUntil(async () => (await processesWith(`sleep ${marker}`)).length === 0, 2_000)).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(2_000);
  });
});
