/**
 * Two tenants on one worker (`--runs 2`, the default bubblewrap sandbox), with the real CLIs: while tenant
 * A's agent holds a secret in its working directory and home, tenant B's agent searches the machine for it
 * as an attacker would. Nothing of A — its secret, its paths — nor of the worker's environment reaches B's
 * transcript or events. And the API refuses to clone what a worker should not.
 */
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinishedRunStatus } from '../../src/model/run-status.js';
import { createFleet, type Fleet, type Worker } from './fleet-world.js';
import { testScript, waitFor } from './world.js';

let fleet: Fleet;
let tokenA: string;
let tokenB: string;
let worker: Worker;

beforeAll(async () => {
  fleet = await createFleet({ script: testScript });
  [tokenA, tokenB] = [await fleet.token('tenant-a'), await fleet.token('tenant-b')];
  worker = await fleet.startWorker('shared', ['--runs', '2']);
}, 180_000);

afterAll(async () => {
  if (process.env.BATON_FLEET_LOGS) console.log(worker?.log());
  await fleet?.cleanup();
}, 60_000);

async function queue(token: string, body: unknown): Promise<{ conversationId: string; runId: string }> {
  const response = await fleet.api(token, 'POST', '/v1/conversations', body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body;
}

/** Everything a run's event stream carried, as text. */
async function eventsText(token: string, runId: string): Promise<string> {
  const response = await fetch(`${fleet.serverUrl}/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${token}` } });
  const received: string[] = [];
  const parser = createParser({ onEvent: (message) => received.push(message.data) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
  return received.join('\n');
}


/** Fails naming the leak and where it showed, without printing a whole transcript. */
function expectAbsent(text: string, leak: string): void {
  const at = text.indexOf(leak);
  expect(at === -1 ? undefined : `…${text.slice(Math.max(0, at - 200), at + leak.length + 100)}…`, `B saw "${leak}"`).toBeUndefined();
}

/**
 * The secret is computed by A's command (TOP + 2 + SECRET), so that it appears in A's command output only, never
 * in a prompt; B searches for the pattern TOP[0-9]SECRET, which is not the secret either.
 */
const SECRET = 'TOP2SECRET';
const HOLD_SECRET = 'RUN echo TOP$((1+1))SECRET > secret.txt && echo TOP$((1+1))SECRET > "$HOME/home-secret" && cat secret.txt && echo holding && sleep 20 && echo released';
const SEARCH = [
  'RUN cd "$HOME/../.." && pwd && ls -la . ./* ./*/* 2>&1 | head -80',
  'cat ./*/work/secret.txt ./*/home/home-secret ./*/*/secret.txt 2>&1 | head',
  'timeout 5 find / -xdev \\( -name secret.txt -o -name home-secret \\) 2>/dev/null | head',
  'ls /proc/*/root/ 2>&1 | head -40',
  'timeout 5 find /proc/*/root/ -maxdepth 6 \\( -name secret.txt -o -name home-secret \\) 2>/dev/null | head',
  "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -E '^(BATON|PG|DATABASE|HOME)' | sort -u",
  "timeout 8 grep -rsE 'TOP[0-9]SECRET' /tmp /root /home /srv \"$HOME/../..\" 2>/dev/null | head",
  'echo search-finished',
].join('; ');

describe('two tenants on one worker with --runs 2', () => {
  it.each(['codex', 'claude'] as const)("%s: B's agent, searching the machine while A's run holds a secret, finds nothing of A or of the worker", async (harness) => {
    const a = await queue(tokenA, { harness, prompt: HOLD_SECRET });
    // A's secret is on disk once its command printed "holding".
    await waitFor(async () => ((await fleet.api(tokenA, 'GET', `/v1/conversations/${a.conversationId}/transcript/raw`)).body?.files?.[0]?.content?.includes('holding') ? true : undefined), "A's command to hold the secret", 60_000);

    const b = await queue(tokenB, { harness, prompt: SEARCH });
    const bRun = await fleet.waitForRun(tokenB, b.runId, (run) => isFinishedRunStatus(run.status), "B's run to finish", 90_000);
    expect(bRun.status).toBe('succeeded');

    const raw = await fleet.api(tokenB, 'GET', `/v1/conversations/${b.conversationId}/transcript/raw`);
    const seenByB = `${JSON.stringify(raw.body)}\n${await eventsText(tokenB, b.runId)}`;
    expect(seenByB.includes('search-finished'), 'the search ran to its end').toBe(true);
    // B's own place lies under the worker's data directory too; A's is named after A's run.
    for (const leak of [SECRET, a.runId, a.conversationId, fleet.cluster.url, 'postgres://', 'postgresql://', 'BATON_STORE', 'BATON_TOKEN']) expectAbsent(seenByB, leak);
    const aRunWhileB = await fleet.api(tokenA, 'GET', `/v1/runs/${a.runId}`);
    expect(aRunWhileB.body.status, "A's run was still active when B's search ended").toBe('running');


    const aRun = await fleet.waitForRun(tokenA, a.runId, (run) => isFinishedRunStatus(run.status), "A's run to finish", 90_000);
    expect(aRun.status).toBe('succeeded');
    const aRaw = await fleet.api(tokenA, 'GET', `/v1/conversations/${a.conversationId}/transcript/raw`);
    expect(JSON.stringify(aRaw.body).includes(SECRET), 'A did hold the secret').toBe(true);
  }, 240_000);
});

describe('workspace.git', () => {
  it('refuses local paths, file:// and helper URLs, URLs with credentials, and option-like URLs or refs (422), unless the server allows local clones', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/etc', /path on the worker/],
      ['../../../root', /path on the worker/],
      ['file:///etc', /path on the worker/],
      ['ext::sh -c touch% /tmp/pwned', /https:\/\/ or ssh:\/\//],
      ['git://example.com/repo.git', /https:\/\/ or ssh:\/\//],
      ['https://user:ghp_secret@github.com/acme/repo.git', /credentials/],
      ['https://ghp_secret@github.com/acme/repo.git', /credentials/],
      ['ssh://-oProxyCommand=touch%20/tmp/pwned/x', /not a repository URL git may clone \(it must not start with "-"/],
      ['--upload-pack=touch /tmp/pwned', /not a repository URL git may clone \(it must not start with "-"/],
    ];
    const withRef: Array<[{ git: string; ref?: string }, RegExp]> = [
      ...cases.map(([git, message]): [{ git: string }, RegExp] => [{ git }, message]),
      [{ git: 'https://github.com/acme/repo.git', ref: '--upload-pack=touch /tmp/pwned' }, /workspace\.ref .+`git check-ref-format`/],
    ];
    for (const [workspace, message] of withRef) {
      const git = JSON.stringify(workspace);
      const response = await fleet.api(tokenA, 'POST', '/v1/conversations', { harness: 'codex', prompt: 'hi', workspace });
      expect(response.status, git).toBe(422);
      expect(response.body.error.message, git).toMatch(message);
      expect(response.body.error.hint, git).toBeTruthy();
      expect(JSON.stringify(response.body), git).not.toContain('ghp_secret');
    }
    const list = await fleet.api(tokenA, 'GET', '/v1/conversations');
    expect(JSON.stringify(list.body)).not.toContain('ghp_secret');
  });
});
