/**
 * The worker's model proxy over real HTTP, in front of real upstreams: the scripted model server (both wire
 * formats, usage reports) and a bare node:http server whose every written byte the test knows.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { providerError, RUN_TOKEN_PREFIX, startModelProxy, type ModelProxy } from '../../src/fleet/model-proxy/proxy.js';
import { assertTemplateHoldsNoKey, resolveUpstreams, tenantKeysFromSecrets, withoutModelKeys, type Upstreams } from '../../src/fleet/model-proxy/upstreams.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScriptedModelServer, type ReportedUsage, type ScriptedModelServer } from '../../src/testing/scripted-model-server.js';

const OPERATOR_OPENAI_KEY = 'sk-operator-openai-0123456789abcdefghijklmnop';
const OPERATOR_ANTHROPIC_KEY = 'sk-ant-operator-0123456789abcdefghijklmnop';

let model: ScriptedModelServer;
const proxies: ModelProxy[] = [];

beforeAll(async () => {
  model = await startScriptedModelServer({ script: (request) => (request.prompt?.includes('slow') ? { kind: 'text', text: 'held back', delayMs: 800 } : { kind: 'text', text: `echo ${request.prompt ?? ''}` }) });
});
afterAll(async () => model.close());
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

function upstreamsFor(openaiBaseUrl: string, anthropicUrl: string): Upstreams {
  return resolveUpstreams({ urls: { 'openai-responses': openaiBaseUrl, 'anthropic-messages': anthropicUrl }, env: { OPENAI_API_KEY: OPERATOR_OPENAI_KEY, ANTHROPIC_API_KEY: OPERATOR_ANTHROPIC_KEY } });
}

async function proxyFor(options: Partial<Parameters<typeof startModelProxy>[0]> = {}): Promise<ModelProxy> {
  const proxy = await startModelProxy({ upstreams: upstreamsFor(model.openaiBaseUrl, model.url), ...options });
  proxies.push(proxy);
  return proxy;
}

const codexBody = (prompt: string, stream = true) => JSON.stringify({ model: 'm', stream, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: prompt }] }], tools: [] });
const claudeBody = (prompt: string, stream = true) => JSON.stringify({ model: 'm', stream, max_tokens: 100, messages: [{ role: 'user', content: prompt }], tools: [{ name: 'Bash', input_schema: { type: 'object' } }] });

const openai = (proxy: ModelProxy, token: string, prompt: string, stream = true) =>
  fetch(`${proxy.baseUrl('openai-responses')}/responses`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: codexBody(prompt, stream) });
const anthropic = (proxy: ModelProxy, token: string, prompt: string, stream = true) =>
  fetch(`${proxy.baseUrl('anthropic-messages')}/v1/messages?beta=true`, { method: 'POST', headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: claudeBody(prompt, stream) });

const sum = (reports: ReportedUsage[]) => ({
  inputTokens: reports.reduce((total, report) => total + report.inputTokens, 0),
  cachedInputTokens: reports.reduce((total, report) => total + report.cachedInputTokens, 0),
  outputTokens: reports.reduce((total, report) => total + report.outputTokens, 0),
  requests: reports.length,
});

describe('tokens', () => {
  it('mints a distinct 32-byte random token per run and swaps it for the operator key upstream', async () => {
    const proxy = await proxyFor();
    const [a, b] = [await proxy.grant({ runId: 'run_a', tenant: 't' }), await proxy.grant({ runId: 'run_b', tenant: 't' })];
    expect(a.token).not.toBe(b.token);
    expect(a.token.startsWith(RUN_TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(a.token.slice(RUN_TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);

    const before = model.requests.length;
    const response = await openai(proxy, a.token, 'hello');
    expect(response.status).toBe(200);
    await response.text();
    const received = model.requests.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers.authorization).toBe(`Bearer ${OPERATOR_OPENAI_KEY}`);
    expect(JSON.stringify(received[0]!.headers)).not.toContain(a.token);

    const claude = await anthropic(proxy, a.token, 'hello');
    expect(claude.status).toBe(200);
    await claude.text();
    const last = model.requests.at(-1)!;
    expect(last.path).toBe('/v1/messages?beta=true');
    expect(last.headers['x-api-key']).toBe(OPERATOR_ANTHROPIC_KEY);
    expect(last.headers.authorization).toBeUndefined();
  });

  it.each([
    ['a wrong token', 'baton_run_not-a-token'],
    ['no token', ''],
  ])('refuses %s with 401 in each provider\'s error shape, forwarding nothing', async (_, token) => {
    const proxy = await proxyFor();
    await proxy.grant({ runId: 'run_x', tenant: 't' });
    const before = model.requests.length;
    const refusedOpenai = await openai(proxy, token, 'hello');
    expect(refusedOpenai.status).toBe(401);
    expect(await refusedOpenai.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_api_key', message: expect.stringContaining('not valid') } });
    const refusedAnthropic = await anthropic(proxy, token, 'hello');
    expect(refusedAnthropic.status).toBe(401);
    expect(await refusedAnthropic.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(model.requests.length).toBe(before);
  });

  it('refuses a token once it is revoked, and every token once the proxy closes', async () => {
    const proxy = await proxyFor();
    const grant = await proxy.grant({ runId: 'run_r', tenant: 't' });
    expect((await openai(proxy, grant.token, 'ok')).status).toBe(200);
    grant.revoke();
    expect(proxy.activeGrants).toBe(0);
    const refused = await openai(proxy, grant.token, 'after');
    expect(refused.status).toBe(401);
    expect((await anthropic(proxy, grant.token, 'after')).status).toBe(401);
    grant.revoke(); // idempotent
  });

  it('forwards only the APIs\' own paths: anything else is 404 and reaches no upstream', async () => {
    const proxy = await proxyFor();
    const grant = await proxy.grant({ runId: 'run_p', tenant: 't' });
    const before = model.requests.length;
    for (const path of ['/openai/v1/files', '/openai/v1/responses/../../../etc', '/anthropic/v1/complete', '/elsewhere/v1/messages', '/openai/v1/models/..']) {
      const response = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${grant.token}` }, body: '{}' });
      expect([404], path).toContain(response.status);
    }
    expect(model.requests.length).toBe(before);
  });

  it('uses a tenant\'s own key for that tenant\'s runs only', async () => {
    const secrets: Record<string, Record<string, string>> = { byok: { OPENAI_API_KEY: 'sk-tenant-own-key-000000000000000000000' } };
    const proxy = await proxyFor({ tenants: tenantKeysFromSecrets(async (tenant) => secrets[tenant] ?? {}) });
    const own = await proxy.grant({ runId: 'run_own', tenant: 'byok' });
    const other = await proxy.grant({ runId: 'run_other', tenant: 'plain' });
    await (await openai(proxy, own.token, 'a')).text();
    expect(model.requests.at(-1)!.headers.authorization).toBe('Bearer sk-tenant-own-key-000000000000000000000');
    await (await openai(proxy, other.token, 'b')).text();
    expect(model.requests.at(-1)!.headers.authorization).toBe(`Bearer ${OPERATOR_OPENAI_KEY}`);
    // No Anthropic key of its own: the operator's.
    await (await anthropic(proxy, own.token, 'c')).text();
    expect(model.requests.at(-1)!.headers['x-api-key']).toBe(OPERATOR_ANTHROPIC_KEY);
  });
});

describe('streaming', () => {
  let upstream: Server;
  let upstreamUrl: string;
  let seen: IncomingHttpHeaders[] = [];
  /** Exactly what the bare upstream writes: chunks with pauses, a multi-byte character split across two. */
  const euro = Buffer.from('€', 'utf8');
  const CHUNKS = [
    Buffer.from('event: response.created\ndata: {"type":"response.created","response":{"id":"r1"}}\n\n'),
    Buffer.concat([Buffer.from('event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"price '), euro.subarray(0, 1)]),
    Buffer.concat([euro.subarray(1), Buffer.from('5"}\n\n')]),
    Buffer.from('event: response.completed\ndata: {"type":"response.completed","response":{"id":"r1","usage":{"input_tokens":321,"input_tokens_details":{"cached_tokens":21},"output_tokens":54,"total_tokens":375}}}\n\n'),
  ];
  const PAUSE_MS = 300;

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'x-upstream-marker': 'kept', connection: 'keep-alive' });
        let index = 0;
        const next = (): void => {
          response.write(CHUNKS[index++]!);
          if (index < CHUNKS.length) setTimeout(next, PAUSE_MS);
          else response.end();
        };
        next();
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('passes the upstream\'s bytes through unchanged, each chunk as it arrives, and counts the usage', async () => {
    seen = [];
    const proxy = await proxyFor({ upstreams: upstreamsFor(upstreamUrl, model.url) });
    const grant = await proxy.grant({ runId: 'run_s', tenant: 't' });
    const started = Date.now();
    const response = await fetch(`${proxy.baseUrl('openai-responses')}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.token}`, 'content-type': 'application/json', 'x-client-marker': 'passed', 'accept-encoding': 'gzip, br' },
      body: codexBody('stream'),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-upstream-marker')).toBe('kept');
    const received: Array<{ bytes: Buffer; at: number }> = [];
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) received.push({ bytes: Buffer.from(chunk), at: Date.now() - started });
    expect(Buffer.concat(received.map((chunk) => chunk.bytes)).equals(Buffer.concat(CHUNKS))).toBe(true);
    // The first event arrived long before the upstream finished (three pauses later): nothing was buffered.
    expect(received[0]!.at).toBeLessThan(PAUSE_MS);
    expect(received.at(-1)!.at).toBeGreaterThanOrEqual(PAUSE_MS * 3 - 20);
    expect(received.length).toBeGreaterThanOrEqual(CHUNKS.length);

    expect(seen[0]!['x-client-marker']).toBe('passed');
    expect(seen[0]!.authorization).toBe(`Bearer ${OPERATOR_OPENAI_KEY}`);
    expect(seen[0]!['accept-encoding']).toBe('identity');
    expect(grant.usage()).toEqual({ inputTokens: 321, cachedInputTokens: 21, outputTokens: 54, requests: 1 });
  });

  it('answers 502 in the provider\'s shape when the upstream is unreachable', async () => {
    const proxy = await proxyFor({ upstreams: upstreamsFor('http://127.0.0.1:9/v1', 'http://127.0.0.1:9') });
    const grant = await proxy.grant({ runId: 'run_u', tenant: 't' });
    const response = await openai(proxy, grant.token, 'x');
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'server_error' } });
  });
});

describe('usage and limits', () => {
  it('delivers a held-back reply\'s first event before the upstream sends the rest', async () => {
    const proxy = await proxyFor();
    const grant = await proxy.grant({ runId: 'run_d', tenant: 't' });
    const started = Date.now();
    const response = await anthropic(proxy, grant.token, 'slow please');
    const reader = response.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    expect(new TextDecoder().decode(first.value)).toContain('message_start');
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(firstAt).toBeLessThan(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(780);
    expect(rest).toContain('message_stop');
  });

  it.each([true, false])('counts what the scripted model reported, in both wire formats (stream %s)', async (stream) => {
    const proxy = await proxyFor();
    const grant = await proxy.grant({ runId: 'run_usage', tenant: 't' });
    const before = model.reportedUsage.length;
    for (const prompt of ['one', 'two']) {
      await (await openai(proxy, grant.token, prompt, stream)).text();
      await (await anthropic(proxy, grant.token, prompt, stream)).text();
    }
    // count_tokens is not usage.
    await (await fetch(`${proxy.baseUrl('anthropic-messages')}/v1/messages/count_tokens`, { method: 'POST', headers: { 'x-api-key': grant.token, 'content-type': 'application/json' }, body: claudeBody('count') })).text();
    const reported = model.reportedUsage.slice(before);
    expect(reported.map((report) => report.api).sort()).toEqual(['anthropic-messages', 'anthropic-messages', 'openai-responses', 'openai-responses']);
    expect(reported.every((report) => report.cachedInputTokens > 0 && report.outputTokens > 0)).toBe(true);
    expect(grant.usage()).toEqual(sum(reported));
  });

  it('refuses the request after the limit with the provider\'s error shape and fails the run', async () => {
    const proxy = await proxyFor({ maxTokensPerRun: 120 });
    const grant = await proxy.grant({ runId: 'run_limit', tenant: 't' });
    const first = await openai(proxy, grant.token, 'first');
    expect(first.status).toBe(200);
    await first.text(); // 100 input + the output: over 120 now
    expect(grant.usedTokens).toBeGreaterThan(120);
    expect(grant.failed.aborted).toBe(false);
    const before = model.requests.length;
    const refused = await openai(proxy, grant.token, 'second');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(await refused.json()).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota', message: expect.stringContaining('limit of 120') } });
    const refusedAnthropic = await anthropic(proxy, grant.token, 'third');
    expect(refusedAnthropic.status).toBe(429);
    expect(await refusedAnthropic.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('limit of 120') } });
    expect(model.requests.length).toBe(before);
    expect(grant.failed.aborted).toBe(true);
    expect(grant.failed.reason).toMatchObject({ code: 'TOKEN_LIMIT_EXCEEDED' });
  });

  it('answers its own errors in the shapes the providers use', async () => {
    expect(await providerError('openai-responses', 'limit', 'm').json()).toEqual({ error: { message: 'm', type: 'insufficient_quota', code: 'insufficient_quota', param: null } });
    expect(await providerError('anthropic-messages', 'authentication', 'm').json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'm' } });
  });
});

describe('a run\'s environment', () => {
  it('loses the model key variables and every variable holding a key', () => {
    const env = { PATH: '/bin', OPENAI_API_KEY: 'k1', ANTHROPIC_API_KEY: 'k2', ANTHROPIC_AUTH_TOKEN: 'k3', ANTHROPIC_BASE_URL: 'http://x', MY_COPY: `prefix-${OPERATOR_OPENAI_KEY}`, GITHUB_TOKEN: 'g' };
    expect(withoutModelKeys(env, [OPERATOR_OPENAI_KEY])).toEqual({ PATH: '/bin', GITHUB_TOKEN: 'g' });
  });
});

describe('a home template', () => {
  it('is refused when it holds a model key, or the last 20 characters by which Claude Code remembers one', async () => {
    const template = await mkdtemp(join(tmpdir(), 'baton-template-'));
    try {
      await mkdir(join(template, '.codex'), { recursive: true });
      await writeFile(join(template, '.codex', 'config.toml'), 'model = "gpt-5"\n');
      await assertTemplateHoldsNoKey(template, [OPERATOR_OPENAI_KEY, OPERATOR_ANTHROPIC_KEY]);
      await writeFile(join(template, '.claude.json'), JSON.stringify({ customApiKeyResponses: { approved: [OPERATOR_ANTHROPIC_KEY.slice(-20)] } }));
      await expect(assertTemplateHoldsNoKey(template, [OPERATOR_OPENAI_KEY, OPERATOR_ANTHROPIC_KEY])).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('.claude.json') });
    } finally {
      await rm(template, { recursive: true, force: true });
    }
  });
});

describe('the Gemini API', () => {
  const OPERATOR_GEMINI_KEY = 'AIzaSy-operator-gemini-0123456789abcdefghij';
  // What the Gemini API streams (`alt=sse`): unnamed events, each chunk with its cumulative usageMetadata.
  const CHUNKS = [
    'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"hel"}]}}],"usageMetadata":{"promptTokenCount":200,"cachedContentTokenCount":80,"candidatesTokenCount":1}}\r\n\r\n',
    'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":200,"cachedContentTokenCount":80,"candidatesTokenCount":12,"thoughtsTokenCount":8,"totalTokenCount":220}}\r\n\r\n',
  ];
  let upstream: Server;
  let upstreamUrl: string;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      seen.push({ url: request.url ?? '', headers: request.headers });
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const chunk of CHUNKS) response.write(chunk);
        response.end();
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => upstream.close(() => resolve())));

  const geminiUpstreams = (env: NodeJS.ProcessEnv) => resolveUpstreams({ urls: { 'openai-responses': model.openaiBaseUrl, 'anthropic-messages': model.url, 'gemini-generate-content': upstreamUrl }, env });
  const turn = (proxy: ModelProxy, token: string, path = '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse') =>
    fetch(`${proxy.baseUrl('gemini-generate-content')}${path}`, { method: 'POST', headers: { 'x-goog-api-key': token, 'content-type': 'application/json' }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }) });

  it('swaps the run token in x-goog-api-key for the operator key, streams the bytes unchanged, and counts candidates and thoughts as output', async () => {
    seen.length = 0;
    const proxy = await proxyFor({ upstreams: geminiUpstreams({ GEMINI_API_KEY: OPERATOR_GEMINI_KEY }) });
    const grant = await proxy.grant({ runId: 'run_g', tenant: undefined });
    const response = await turn(proxy, grant.token);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(CHUNKS.join(''));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(seen[0]!.headers['x-goog-api-key']).toBe(OPERATOR_GEMINI_KEY);
    expect(JSON.stringify(seen[0]!.headers)).not.toContain(grant.token);
    await new Promise((resolve) => setImmediate(resolve));
    expect(grant.usage()).toEqual({ inputTokens: 200, cachedInputTokens: 80, outputTokens: 20, requests: 1 });
  });

  it('forwards only model calls, answers its own errors as the Gemini API does, and uses a tenant\'s own key', async () => {
    seen.length = 0;
    const proxy = await proxyFor({
      upstreams: geminiUpstreams({}),
      tenants: tenantKeysFromSecrets(async (tenant): Promise<Record<string, string>> => (tenant === 'acme' ? { GEMINI_API_KEY: 'AIzaSy-acme-own-key-0123456789' } : {})),
    });
    const operatorless = await proxy.grant({ runId: 'run_n', tenant: 'other' });
    const refused = await turn(proxy, operatorless.token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: { code: 401, message: expect.stringContaining('no key for Gemini'), status: 'UNAUTHENTICATED' } });
    const acme = await proxy.grant({ runId: 'run_a', tenant: 'acme' });
    expect((await turn(proxy, acme.token, '/v1beta/files')).status).toBe(404);
    expect((await turn(proxy, 'baton_run_not-a-token')).status).toBe(401);
    expect(seen).toHaveLength(0);
    expect((await turn(proxy, acme.token)).status).toBe(200);
    expect(seen.map((request) => request.headers['x-goog-api-key'])).toEqual(['AIzaSy-acme-own-key-0123456789']);
  });
});
