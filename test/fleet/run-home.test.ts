/** Where a worker runs one run: a fresh home from the operator's template, a fresh cwd, both removed after. */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertHomeTemplate, cloneWorkspace, createRunPlace } from '../../src/fleet/run-home.js';
import { harnessHomeVariables } from '../../src/harness/registry.js';
import { expectBatonError } from '../store/store-contract.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-run-home-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('createRunPlace', () => {
  it('copies the template into a fresh 0700 home, points HOME at it, and drops the worker\'s own CLI homes and AWS credentials', async () => {
    expect(harnessHomeVariables()).toEqual(expect.arrayContaining(['CODEX_HOME', 'CLAUDE_CONFIG_DIR', 'GEMINI_CLI_HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME']));
    const template = join(root, 'template');
    await mkdir(join(template, '.codex'), { recursive: true });
    await writeFile(join(template, '.codex', 'config.toml'), 'model = "m"\n', { mode: 0o600 });
    const place = await createRunPlace({
      dataDir: join(root, 'data'),
      homesDir: undefined,
      homeTemplate: template,
      runId: 'r_1',
      // Every harness's home variables (Gemini's GEMINI_CLI_HOME, OpenCode's XDG directories …) are the worker's own.
      // And the AWS credentials of the store's object storage (--blobs) are the worker's own too.
      baseEnv: { PATH: '/usr/bin', HOME: '/root', OPENAI_API_KEY: 'k', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't', BATON_BLOBS: 's3://b/p', ...Object.fromEntries(harnessHomeVariables().map((name) => [name, `/root/${name.toLowerCase()}`])) },
    });
    expect(place.home).toBe(join(root, 'data', 'runs', 'r_1', 'home'));
    expect(place.cwd).toBe(join(root, 'data', 'runs', 'r_1', 'work'));
    expect(await readFile(join(place.home, '.codex', 'config.toml'), 'utf8')).toBe('model = "m"\n');
    expect((await stat(join(place.home, '.codex', 'config.toml'))).mode & 0o777).toBe(0o600);
    expect((await stat(place.home)).mode & 0o777).toBe(0o700);
    expect(place.env).toEqual({ PATH: '/usr/bin', HOME: place.home, OPENAI_API_KEY: 'k' });

    await writeFile(join(place.cwd, 'left-behind.txt'), 'x');
    await place.remove();
    await expect(stat(join(root, 'data', 'runs', 'r_1'))).rejects.toThrow();
  });

  it('puts homes under --homes when given, and removes them too', async () => {
    const place = await createRunPlace({ dataDir: join(root, 'data'), homesDir: join(root, 'homes'), homeTemplate: undefined, runId: 'r_2', baseEnv: {} });
    expect(place.home).toBe(join(root, 'homes', 'r_2'));
    await place.remove();
    await expect(stat(place.home)).rejects.toThrow();
  });

  it('refuses a home template that is not a directory with USAGE', async () => {
    await expectBatonError(assertHomeTemplate(join(root, 'missing')), 'USAGE');
  });
});

describe('cloneWorkspace', () => {
  it('clones a repository at a ref into the run\'s working directory', async () => {
    const origin = join(root, 'origin');
    const git = (...args: string[]) => execFileSync('git', ['-C', origin, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args]);
    await mkdir(origin);
    git('init', '-q', '-b', 'main');
    await writeFile(join(origin, 'a.txt'), 'one\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    git('tag', 'v1');
    await writeFile(join(origin, 'a.txt'), 'two\n');
    git('commit', '-qam', 'two');
    await cloneWorkspace({ git: origin, ref: 'v1' }, join(root, 'work'));
    expect(await readFile(join(root, 'work', 'a.txt'), 'utf8')).toBe('one\n');
  });

  it('checks out a branch ref as a local branch, and a commit ref detached', async () => {
    const origin = join(root, 'origin');
    const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-C', cwd, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { encoding: 'utf8' }).trim();
    await mkdir(origin);
    git(origin, 'init', '-q', '-b', 'main');
    await writeFile(join(origin, 'a.txt'), 'main\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-qm', 'main');
    const first = git(origin, 'rev-parse', 'HEAD');
    git(origin, 'switch', '-q', '-c', 'feature');
    await writeFile(join(origin, 'a.txt'), 'feature\n');
    git(origin, 'commit', '-qam', 'feature');
    git(origin, 'switch', '-q', 'main');
    await cloneWorkspace({ git: origin, ref: 'feature' }, join(root, 'on-branch'));
    expect(git(join(root, 'on-branch'), 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    expect(await readFile(join(root, 'on-branch', 'a.txt'), 'utf8')).toBe('feature\n');
    await cloneWorkspace({ git: origin, ref: first }, join(root, 'detached'));
    expect(git(join(root, 'detached'), 'rev-parse', 'HEAD')).toBe(first);
    expect(() => git(join(root, 'detached'), 'symbolic-ref', '-q', 'HEAD')).toThrow();
  });

  it('refuses a URL or ref that git would read as an option (USAGE), before running git', async () => {
    const pwned = join(root, 'pwned');
    await expectBatonError(cloneWorkspace({ git: `--upload-pack=touch ${pwned}` }, join(root, 'work')), 'USAGE');
    await expectBatonError(cloneWorkspace({ git: `ssh://-oProxyCommand=touch%20${pwned}/x` }, join(root, 'work')), 'USAGE');
    await expectBatonError(cloneWorkspace({ git: join(root, 'any'), ref: `--upload-pack=touch ${pwned}` }, join(root, 'work')), 'USAGE');
    await expect(stat(pwned)).rejects.toThrow();
    await expect(stat(join(root, 'work'))).rejects.toThrow();
  });

  it('names the repository when it cannot be cloned (WORKSPACE_ERROR)', async () => {
    const error = await expectBatonError(cloneWorkspace({ git: join(root, 'nope') }, join(root, 'work')), 'WORKSPACE_ERROR');
    expect(error.message).toContain(join(root, 'nope'));
  });
});
