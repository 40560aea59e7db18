/**
 * Files that commonly hold secrets. They are never captured in a workspace snapshot unless the user opts in
 * (`--include-secrets`): a conversation's workspace may be restored on a machine the secret was never meant for.
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
