/**
 * Credentials recognised by their shape, whoever's they are: secretlint's recommended preset (cloud keys,
 * GitHub/GitLab/Slack/npm tokens, OpenAI/Anthropic keys, private key blocks, URLs and connection strings with
 * passwords, …), plus the two shapes it lacks — JSON Web Tokens, and `NAME=value` assignments whose name says
 * credential (what `cat .env` prints).
 *
 * @secretlint 12.0.0 is pinned: 12.1.0 and later need Node 22 (verified on the npm registry, 2026-12-02).
 */
import { lintSource } from '@secretlint/core';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';
import { isCredentialName, isSecretValue } from './known-secrets.js';

/** A secret found in a text: [start, end) in UTF-16 code units, and what it is redacted as. */
export interface Finding {
  start: number;
  end: number;
  label: string;
}

const RULE_PREFIX = '@secretlint/secretlint-rule-';

const config: Parameters<typeof lintSource>[0]['options']['config'] = {
  rules: [
    {
      id: recommendedPreset.meta.id,
      rule: recommendedPreset,
      // The filter-comments rule honours `secretlint-disable` comments in the text: the text is the agent's, so it
      // would let the agent switch redaction off.
      rules: [
        { id: '@secretlint/secretlint-rule-filter-comments', disabled: true },
        // Off by default in the preset (an access key id alone is not a credential), but it names the account.
        { id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } },
      ],
    },
  ],
};

/** Which shape rules ran, as recorded with each run. */
export const SHAPE_RULES = `${recommendedPreset.meta.id}@12.0.0+jwt+credential-assignments`;

// Three base64url parts, the first two JSON objects (`{"` encodes as `eyJ`).
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
// NAME=value / NAME: value / "NAME": "value" / Authorization: Bearer value — the value is what is redacted (a
// placeholder is never a value: brackets end one, so redacting twice changes nothing). The name and its
// separator are matched first and the value after it, so that `"content":"TOKEN=…"` finds TOKEN's value.
const ASSIGNED_NAME = /\b([A-Za-z][A-Za-z0-9_-]*)["']?[ \t]*[=:][ \t]*["']?(?:(?:Bearer|Basic|Token|token)[ \t]+)?/g;
const ASSIGNED_VALUE = /[^\s"'`\\,;[\]]{8,}/y;

export async function findSecretShapes(text: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (text.length === 0) return findings;
  const result = await lintSource({
    source: { filePath: '/baton-redaction.txt', content: text, contentType: 'text' },
    options: { config, noPhysicFilePath: true },
  });
  for (const message of result.messages) {
    const [start, end] = message.range;
    if (end > start) findings.push({ start, end, label: message.ruleId.startsWith(RULE_PREFIX) ? message.ruleId.slice(RULE_PREFIX.length) : message.ruleId });
  }
  for (const match of text.matchAll(JWT)) findings.push({ start: match.index, end: match.index + match[0].length, label: 'jwt' });
  for (const match of text.matchAll(ASSIGNED_NAME)) {
    const name = match[1]!;
    if (!isCredentialName(name)) continue;
    ASSIGNED_VALUE.lastIndex = match.index + match[0].length;
    const value = ASSIGNED_VALUE.exec(text)?.[0];
    // The name labels the placeholder only when it looks like a variable's: a name is the text's, and may be a secret.
    const label = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? `$${name}` : 'credential';
    if (value && isSecretValue(value)) findings.push({ start: ASSIGNED_VALUE.lastIndex - value.length, end: ASSIGNED_VALUE.lastIndex, label });
  }
  return findings;
}
