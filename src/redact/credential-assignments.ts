/**
 * Credentials assigned to a name that says credential: what `cat .env` prints (`GH_TOKEN=ghp_…`), a config
 * file's `"password": "…"`, a header's `Authorization: Bearer …`. The value is what is redacted, never the name.
 *
 * Agents read source code all day, and code is full of names such as `cacheKey`, `tokenStart` or `privateKey`
 * assigned an expression: `const cacheKey = keyFor(url)` holds no secret, and blanking it would show the model
 * (and the reader) code that is not there. So a value counts when it is a literal:
 * - quoted (`"…"`, `'…'`, or quoted inside a JSON string, `\"…\"`): taken up to its closing quote, spaces
 *   included — except a single plain word (letters and `-`/`_` only) given to an unquoted name with spaces
 *   around the separator, which is code naming a kind (`lastToken = "punctuation"`), not config;
 * - or written `NAME=value` with nothing around the `=` (.env files, shell, query strings);
 * - or otherwise unquoted and not shaped like code: not a call (`getToken()`), not an identifier or a member
 *   chain (`position`, `process.env.API_KEY`, `config.s3Key`), not a variable reference (`$TOKEN`, `${TOKEN}`).
 */
import { isCredentialName, isSecretValue } from './known-secrets.js';
import type { Finding } from './finding.js';

// A name, an optional closing quote (`"password":`), then `=` or `:`. Run on the detection view, where JSON
// escapes are blanked, so a name after a `\n` escape starts at a word boundary.
const ASSIGNED_NAME = /\b([A-Za-z][A-Za-z0-9_-]*)(["']?[ \t]*)([=:])/g;
// After the separator, read on the text itself: spaces, an opening quote (with the backslashes that escape it
// inside a JSON string), an auth scheme.
const OPENING = /([ \t]*)(?:(\\*)(["']))?(?:(?:Bearer|Basic|Token|token)[ \t]+)?/y;
// An unquoted value, on the detection view: ends at a space, a quote, an escape, `,` `;` or a bracket (so a
// placeholder, `[REDACTED:…]`, is never a value and redacting twice changes nothing).
const UNQUOTED_VALUE = /[^\s"'`\\,;[\]]{8,}/y;
/** A quoted value longer than this is not one value (a quote left open). */
const MAX_QUOTED = 512;

// Every credential word of isCredentialName contains one of these: a cheap test before the full one.
const MAYBE_CREDENTIAL = /key|token|secret|pass|pwd|cred|auth|pat|cookie|private/i;
const CODE_CALL = /\(/;
const CODE_REFERENCE = /^(?:[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)+|[A-Za-z_$.?!]+|\$\{?[A-Za-z_][\w]*\}?)$/;
const VARIABLE_LIKE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PLAIN_WORD = /^[A-Za-z_-]+$/;

/** isCredentialName, remembered: in a transcript the same few JSON keys and identifiers come back on every line. */
const credentialNames = new Map<string, boolean>();
const REMEMBERED_NAMES = 4096;

function isCredentialNameCached(name: string): boolean {
  if (!MAYBE_CREDENTIAL.test(name)) return false;
  let known = credentialNames.get(name);
  if (known === undefined) {
    known = isCredentialName(name);
    if (credentialNames.size >= REMEMBERED_NAMES) credentialNames.clear();
    credentialNames.set(name, known);
  }
  return known;
}

/**
 * The values assigned to credential names in `text`. `view` is the text with its JSON escapes blanked, of the
 * same length (see the redactor's detection view); ranges index both.
 */
export function findCredentialAssignments(view: string, text: string): Finding[] {
  const findings: Finding[] = [];
  for (const match of view.matchAll(ASSIGNED_NAME)) {
    const name = match[1]!;
    if (!isCredentialNameCached(name)) continue;
    const afterSeparator = match.index + match[0].length;
    OPENING.lastIndex = afterSeparator;
    const opening = OPENING.exec(text)!;
    const valueStart = OPENING.lastIndex;
    const label = VARIABLE_LIKE.test(name) ? `$${name}` : 'credential';
    const tight = match[3] === '=' && match[2] === '' && opening[1] === '';
    const quote = opening[3];
    if (quote !== undefined) {
      const closing = `${opening[2]!}${quote}`;
      const end = text.indexOf(closing, valueStart);
      if (end === -1 || end - valueStart > MAX_QUOTED) continue;
      const value = text.slice(valueStart, end);
      if (value.includes('\n') || value.startsWith('[REDACTED:') || !isSecretValue(value)) continue;
      const nameQuoted = /["']/.test(match[2]!);
      if (!tight && !nameQuoted && PLAIN_WORD.test(value)) continue;
      findings.push({ start: valueStart, end, label });
      continue;
    }
    UNQUOTED_VALUE.lastIndex = valueStart;
    const value = UNQUOTED_VALUE.exec(view)?.[0];
    if (value === undefined || !isSecretValue(value)) continue;
    if (!tight && (CODE_CALL.test(value) || CODE_REFERENCE.test(value))) continue;
    findings.push({ start: valueStart, end: valueStart + value.length, label });
  }
  return findings;
}
