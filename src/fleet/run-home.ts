/**
 * Where a worker runs one run: a fresh CLI home (HOME, holding `.codex/` and `.claude/`) and a fresh working
 * directory, both under the worker's data directory and removed afterwards, so that one tenant's CLI state
 * never reaches another's run. An operator's home template (providers, MCP servers, credentials) is copied in
 * first.
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BatonError, errorMessage } from '../errors.js';
import { harnessHomeVariables } from '../harness/registry.js';
import { assertCloneValues } from './clone-source.js';

const run = promisify(execFile);

export interface RunPlace {
  home: string;
  cwd: string;
  /** The CLI's environment: the worker's, with HOME pointing at the fresh home and no other home override. */
  env: NodeJS.ProcessEnv;
  remove(): Promise<void>;
}

export async function assertHomeTemplate(template: string): Promise<void> {
  const info = await stat(template).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new BatonError('USAGE', `the home template ${template} is not a directory`, {
      hint: "pass a directory laid out like a home (the CLIs' config folders in it) to --home-template",
    });
  }
}

export async function createRunPlace(input: { dataDir: string; homesDir: string | undefined; homeTemplate: string | undefined; runId: string; baseEnv: NodeJS.ProcessEnv }): Promise<RunPlace> {
  const runDir = join(input.dataDir, 'runs', input.runId);
  const home = input.homesDir ? join(input.homesDir, input.runId) : join(runDir, 'home');
  const cwd = join(runDir, 'work');
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true, mode: 0o700 });
  await chmod(home, 0o700);
  if (input.homeTemplate) await cp(input.homeTemplate, home, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  await mkdir(cwd, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...input.baseEnv, HOME: home };
  // The worker's own CLI homes must not leak into a run: every CLI then defaults to folders under HOME.
  for (const variable of harnessHomeVariables()) delete env[variable];
  // Nor its own settings (the store's URL, tokens), sandbox or not.
  for (const name of Object.keys(env)) if (name.startsWith('BATON_')) delete env[name];
  // Nor the operator's AWS credentials, which the store's object storage (--blobs) uses: with them an agent could
  // read or delete every conversation's bodies. A tenant that needs AWS in its runs sets them as tenant secrets.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[name];
  return {
    home,
    cwd,
    env,
    remove: async () => {
      await rm(runDir, { recursive: true, force: true });
      if (input.homesDir) await rm(home, { recursive: true, force: true });
    },
  };
}

/**
 * Clones the repository a new conversation works on into its (empty) working directory, at `ref` when given:
 * a branch (checked out as a local branch, as `git checkout` would), or a tag or commit (detached).
 * The URL and ref come from an API body: their shapes are checked again here (the queue may hold runs accepted
 * by an older server), and git is told where its options end.
 * verified with git 2.39.5: `git switch` honours `--end-of-options`; `git checkout` reads it as a revision.
 */
export async function cloneWorkspace(source: { git: string; ref?: string | undefined }, cwd: string): Promise<void> {
  assertCloneValues(source);
  const git = (args: string[]) => run('git', args, { maxBuffer: 16 * 1024 * 1024 });
  try {
    await git(['clone', '--quiet', '--', source.git, cwd]);
    if (source.ref) {
      const isBranch = async (ref: string): Promise<boolean> => git(['-C', cwd, 'rev-parse', '--verify', '--quiet', '--end-of-options', ref]).then(() => true, () => false);
      const branch = (await isBranch(`refs/heads/${source.ref}`)) || (await isBranch(`refs/remotes/origin/${source.ref}`));
      await git(['-C', cwd, 'switch', '--quiet', ...(branch ? [] : ['--detach']), '--end-of-options', source.ref]);
    }
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? errorMessage(error);
    throw new BatonError('WORKSPACE_ERROR', `cannot clone ${source.git}${source.ref ? ` at ${source.ref}` : ''}: ${detail}`, {
      hint: 'check that the repository URL and ref are reachable from the worker',
    });
  }
}
