/**
 * The secrets baton knows by value: the run's environment variables whose names say they hold a credential,
 * and the credentials a harness keeps in its home (Codex's auth.json, Claude Code's .credentials.json). A known
 * value is redacted wherever it appears, whatever its shape.
 */

import { readFile } from 'node:fs/promises';

/** A secret value and the name it is redacted as (`[REDACTED:$NAME]`). */
export interface KnownSecret {
  name: string;
  value: string;
}

/**
 * Names that say a variable holds a credential: a `_`-separated word such as KEY, TOKEN, SECRET, PASSWORD,
 * CREDENTIALS or AUTH (`OPENAI_API_KEY`, `GH_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `PGPASSWORD`, `NPM_AUTH`), or
 * PASSWORD/SECRET anywhere in the name; `-` counts as `_` (`X-Api-Key`).
 */
const CREDENTIAL_WORD = /(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRETS?|PASSWORD|PASSWD|PASS|PASSPHRASE|PWD|CREDENTIALS?|CREDS|AUTH|AUTHORIZATION|PAT|COOKIE|PRIVATE)(?:_|$)/i;
// Not TOKEN: `input_tokens`, `tokenizer`, `token_count` fill the CLIs' own transcripts.
const CREDENTIAL_ANYWHERE = /PASSWORD|SECRET/i;
/**
 * Names that look like credentials but say something about one (where it is, where it came from, how many):
 * `SSH_AUTH_SOCK`, `apiKeySource` in Claude Code's init event, `token_count` in Codex's rollout.
 */
const NOT_A_CREDENTIAL = /(?:_(?:SOCK|FILE|PATH|DIR|HOME|HOST|PORT|SOURCE|COUNT|USAGE|LIMIT|TYPE|KIND|MODE|NAME|LENGTH|SIZE|HELPER|ENABLED|REQUIRED|EXPIRES|EXPIRY)|ASKPASS|^OLDPWD|^PWD)$/i;

/** Values shorter than this are not redacted by value: "1" or "true" would blank half a transcript. */
export const MIN_SECRET_LENGTH = 8;

export function isCredentialName(name: string): boolean {
  // `X-Api-Key` and `primaryApiKey` are made of the same words as `PRIMARY_API_KEY`.
  const words = name.replace(/-/g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2');
  return (CREDENTIAL_WORD.test(words) || CREDENTIAL_ANYWHERE.test(words)) && !NOT_A_CREDENTIAL.test(words);
}

/** Whether a value is worth redacting by value: long enough, and not a plain path or number. */
export function isSecretValue(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed.length < MIN_SECRET_LENGTH) return false;
  if (/^\d+$/.test(trimmed)) return false;
  if (/^\/[^\s]*$/.test(trimmed) && !trimmed.includes('=')) return false;
  return true;
}

/** The credential-like variables of an environment, with their values. */
export function secretsInEnvironment(env: NodeJS.ProcessEnv): KnownSecret[] {
  const secrets: KnownSecret[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && isCredentialName(name) && isSecretValue(value)) secrets.push({ name, value: value.trim() });
  }
  return secrets;
}

/**
 * Every string in a parsed credentials file (e.g. auth.json) that is long enough to be a secret, named after its
 * path in the file (`auth.json:tokens.access_token`). Ids and flags are short or not credential-named, so they stay.
 */
export function secretsInCredentialFile(label: string, parsed: unknown): KnownSecret[] {
  const secrets: KnownSecret[] = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      const name = path.split('.').at(-1) ?? path;
      if (isSecretValue(value) && isCredentialName(name)) secrets.push({ name: `${label}:${path}`, value });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}.${index}`));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) visit(item, path ? `${path}.${key}` : key);
    }
  };
  visit(parsed, '');
  return secrets;
}

/** The secrets in a JSON credentials file; none when it is missing or not JSON (the CLI would not read it either). */
export async function secretsInCredentialFileAt(path: string, label: string): Promise<KnownSecret[]> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    return secretsInCredentialFile(label, JSON.parse(text));
  } catch {
    return [];
  }
}
