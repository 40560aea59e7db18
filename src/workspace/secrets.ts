import ignore from 'ignore';

/**
 * Files that commonly hold secrets. They are never captured in a workspace snapshot unless the user opts in
 * (`--include-secrets`): a conversation's workspace may be restored on a machine the secret was never meant for.
 * The README lists the same patterns (test/workspace/secrets.test.ts fails when the two drift apart).
 */
export const SECRET_PATTERNS: readonly string[] = [
  '.env',
  '.env.*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
  '*.jks',
  '*.keystore',
  '.netrc',
  '.pypirc',
  '.pgpass',
  '.git-credentials',
  '.aws/credentials',
  '.docker/config.json',
];

/** `.npmrc` is only a secret when it holds a token. */
export const NPMRC_TOKEN = /(_authToken|_auth|_password)\s*=/;

// One matcher for both kinds of workspace. A pattern with a slash (`.aws/credentials`) would be anchored to the
// workspace's top in gitignore syntax; a home folder checked out below it (`home/.aws/credentials`) holds the
// same secret, so every pattern matches at any depth. Case is ignored: `.ENV` on a case-insensitive disk is `.env`.
const secretMatcher = ignore({ ignorecase: true }).add(SECRET_PATTERNS.map((pattern) => (pattern.includes('/') ? `**/${pattern}` : pattern)));

/** Whether a workspace-relative path (`/`-separated; a folder with a trailing `/`) looks like a secret by its name. */
export function isSecretPath(relativePath: string): boolean {
  return secretMatcher.ignores(relativePath);
}

/** Whether an `.npmrc`'s text holds a token. */
export function npmrcHoldsToken(text: string): boolean {
  return NPMRC_TOKEN.test(text);
}
