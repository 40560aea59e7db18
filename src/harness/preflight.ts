/**
 * What a harness tells baton's preflight (src/run/preflight.ts) about its CLI, checked before a conversation is
 * created: which versions baton is tested with, and whether the CLI has credentials — found cheaply, from the
 * variables and files the CLI itself reads, without starting it on the hot path.
 */
import type { HarnessContext } from './harness.js';

export interface HarnessPreflight {
  /**
   * The `major.minor` line baton is tested with (its pinned devDependency's), e.g. `0.171` for 0.171.x; another
   * version is a one-line warning, never a refusal. test/harness/preflight.test.ts ties it to package.json.
   */
  readonly testedVersions: string;
  /** How to fix this CLI's credentials, one line (the hint of a run the model API refused: CLI_AUTH_FAILED). */
  readonly loginFix: string;
  /** Where this CLI finds credentials in this environment, or what is missing and the fix. Never starts the CLI. */
  credentials(context: HarnessContext): Promise<CredentialCheck>;
}

export type CredentialCheck =
  | { kind: 'found'; source: string }
  | {
      kind: 'missing';
      /** What is missing, e.g. "Claude Code is not logged in (no ANTHROPIC_API_KEY, no …/.credentials.json)". */
      message: string;
      /** The fix, one line: `set ANTHROPIC_API_KEY, or run \`claude\` and /login`. */
      fix: string;
      /**
       * The CLI's own status command, consulted before refusing, for ways of logging in the files do not show
       * (a positive answer is cached per home). Only for a CLI whose status command answers in well under a second.
       */
      askCli?: CliAuthStatus | undefined;
    };

export interface CliAuthStatus {
  args: readonly string[];
  /** From its stdout and exit code: is the CLI logged in? */
  loggedIn(stdout: string, exitCode: number | null): boolean;
}

/** The first of `names` set (non-empty) in `env`. */
export function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  return names.find((name) => (env[name] ?? '') !== '');
}
