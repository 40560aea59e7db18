/**
 * Credentials recognised by their shape, whoever's they are: secretlint's recommended preset (cloud keys,
 * GitHub/GitLab/Slack/npm tokens, OpenAI/Anthropic keys, private key blocks, URLs and connection strings with
 * passwords, …), plus what it lacks — JSON Web Tokens, AWS access key ids, and literal values assigned to a name
 * that says credential (./credential-assignments.ts: what `cat .env` prints).
 *
 * @secretlint 12.0.0 is pinned: 12.1.0 and later need Node 22 (verified on the npm registry, 2026-12-02).
 */
import { lintSource } from '@secretlint/core';
import { secretLintProfiler } from '@secretlint/profiler';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';
import { findCredentialAssignments } from './credential-assignments.js';
import type { Finding } from './finding.js';

export type { Finding } from './finding.js';

const RULE_PREFIX = '@secretlint/secretlint-rule-';

// secretlint 12.0.0 profiles every lint call, unasked: each call leaves dozens of marks in Node's performance
// timeline (never cleared: a worker's memory grows with every save) and its observer scans every mark seen so
// far on each one, queued after lintSource has resolved — measured here, a 50 MB save left 0.6–2 s of that work
// on the event loop, landing on the next save. Fixed upstream only in versions that need Node 22
// (secretlint/secretlint#1633, #1673), so the pinned profiler's mark is switched off; nothing reads it.
secretLintProfiler.mark = () => {};

const config: Parameters<typeof lintSource>[0]['options']['config'] = {
  rules: [
    {
      id: recommendedPreset.meta.id,
      rule: recommendedPreset,
      // The filter-comments rule honours `secretlint-disable` comments in the text: the text is the agent's, so it
      // would let the agent switch redaction off.
      rules: [
        { id: '@secretlint/secretlint-rule-filter-comments', disabled: true },
      ],
    },
  ],
};

/** Which shape rules ran, as recorded with each run. */
export const SHAPE_RULES = `${recommendedPreset.meta.id}@12.0.0+jwt+aws-key-id+credential-assignments`;

// Three base64url parts, the first two JSON objects (`{"` encodes as `eyJ`).
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
// An access key id names the account its secret belongs to. secretlint finds these only together with its
// account-number rule (`enableIDScanRule`), whose pattern alone cost a tenth of all redaction time.
const AWS_ACCESS_KEY_ID = /\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b/g;

/**
 * Every credential shape in a text. `view` is what the rules read: the text with its JSON escapes blanked to
 * spaces (same length, so ranges index both); the assignment rule reads quotes from `text` itself.
 */
export async function findSecretShapes(view: string, text: string = view): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (view.length === 0) return findings;
  const result = await lintSource({
    source: { filePath: '/baton-redaction.txt', content: view, contentType: 'text' },
    options: { config, noPhysicFilePath: true },
  });
  for (const message of result.messages) {
    const [start, end] = message.range;
    if (end > start) findings.push({ start, end, label: message.ruleId.startsWith(RULE_PREFIX) ? message.ruleId.slice(RULE_PREFIX.length) : message.ruleId });
  }
  for (const match of view.matchAll(JWT)) findings.push({ start: match.index, end: match.index + match[0].length, label: 'jwt' });
  for (const match of view.matchAll(AWS_ACCESS_KEY_ID)) findings.push({ start: match.index, end: match.index + match[0].length, label: 'aws' });
  findings.push(...findCredentialAssignments(view, text));
  return findings;
}
