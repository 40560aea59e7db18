/**
 * A worker's model-API proxy: the agent never holds the operator's model key.
 *
 * DESIGN
 * - One proxy per worker, bound to 127.0.0.1 on an ephemeral port (Hono on @hono/node-server; the upstream
 *   request is the built-in fetch). The bubblewrap sandbox keeps the host's network namespace (it unshares
 *   user, PID, IPC, UTS and cgroup only; see src/sandbox/bubblewrap.ts), so the CLI in it reaches the proxy on
 *   loopback. A later sandbox with its own network namespace would have to bind the proxy's socket inside.
 * - The operator gives the upstreams to the worker, not to the runs: `--upstream-openai URL` /
 *   `--upstream-anthropic URL` (else the worker's OPENAI_BASE_URL / ANTHROPIC_BASE_URL, else the public APIs)
 *   and the keys in the worker's own environment (OPENAI_API_KEY, ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN).
 *   A run's environment loses those variables, and every variable whose value holds a key
 *   (upstreams.ts withoutModelKeys); the harness writes only the proxy's URL and the run's token into the
 *   CLI's home (Codex: a `[model_providers.baton-model-proxy]` table and an auth.json holding the token alone;
 *   Claude Code: ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY and the token's approval in .claude.json). A home
 *   template that holds a key is refused when the worker starts.
 * - Each run gets a token of its own: 32 random bytes (base64url, prefixed `baton_run_`), known to the proxy
 *   only by its sha256 and compared in constant time. It is granted when the run starts and revoked when the
 *   CLI has exited (the runner) and again in the worker's `finally` (any failure): it never outlives the run.
 *   Tokens live in the proxy's memory only; a restarted worker has none.
 * - No open proxy: a fixed upstream per API, a fixed list of paths per API (the ones the CLIs call), the
 *   client's query string kept, redirects never followed. Anything else is 404 in the provider's error shape.
 * - Request and response headers pass through except hop-by-hop headers and the credentials (`authorization`,
 *   `x-api-key`), which are replaced by the upstream key; the upstream is asked for `accept-encoding: identity`
 *   so that the bytes the client gets are the upstream's own and can be metered. The request body is read
 *   whole (the CLIs send complete JSON bodies); the response body is streamed through a TransformStream, chunk
 *   by chunk as it arrives, with backpressure (nothing is buffered: an SSE event reaches the CLI as soon as the
 *   upstream sends it; `npm run bench` measures the first-byte overhead).
 * - Usage: a copy of each chunk of a model response is parsed on the side (usage.ts) and added to the run's
 *   total, which the runner stores with the run when it finishes (RunUsage: input incl. cached, cached, output).
 * - Limits: a run whose total (input + output tokens) has reached its limit (the tenant's, else the worker's
 *   `--max-tokens-per-run`) gets its next model request refused with the provider's own error shape, a 429 with
 *   `x-should-retry: false` (OpenAI code `insufficient_quota`, which Codex does not retry; Anthropic
 *   `rate_limit_error`, which Claude Code then does not retry either), and the run fails with
 *   TOKEN_LIMIT_EXCEEDED. The response that crosses the limit is not cut: a limit may be overshot by one response.
 * - Bring your own key: a tenant's keys (TenantModelAccess, e.g. its encrypted secrets OPENAI_API_KEY /
 *   ANTHROPIC_API_KEY) are looked up when the token is granted and used for that run only; an API without a
 *   tenant key uses the operator's.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { BatonError, errorSummary } from '../../errors.js';
import type { ModelEndpoint } from '../../harness/harness.js';
import type { ModelApiId } from '../../harness/ids.js';
import type { ModelAccess } from '../../run/model-access.js';
import { emptyUsage, type RunUsage } from '../../store/store.js';
import { OPERATOR_KEYS_ONLY, type TenantModelAccess, type UpstreamKey, type Upstreams } from './upstreams.js';
import { UsageMeter } from './usage.js';

export const RUN_TOKEN_PREFIX = 'baton_run_';

interface RouteRule {
  methods: readonly string[];
  /** The path below the API's prefix (the same below the upstream's base URL). */
  path: RegExp;
  /** A model response whose usage counts (count_tokens and model lists do not). */
  metered: boolean;
}

const NAME = '[A-Za-z0-9][A-Za-z0-9._:-]{0,199}';

/** What each API's clients may ask, below its prefix on the proxy. */
const ROUTES: Record<ModelApiId, { prefix: string; rules: RouteRule[] }> = {
  // verified with codex 0.171.0: only `POST {base_url}/responses` (no model list, no compaction call seen).
  'openai-responses': {
    prefix: '/openai/v1',
    rules: [
      { methods: ['POST'], path: /^\/responses$/, metered: true },
      { methods: ['POST'], path: /^\/responses\/compact$/, metered: true },
      { methods: ['GET'], path: new RegExp(`^/models(/${NAME})?$`), metered: false },
    ],
  },
  // verified with claude 2.1.332: `POST {ANTHROPIC_BASE_URL}/v1/messages?beta=true` (streaming turns and plain side
  // calls); count_tokens and a connectivity `HEAD /` when nonessential traffic is not disabled.
  'anthropic-messages': {
    prefix: '/anthropic',
    rules: [
      { methods: ['POST'], path: /^\/v1\/messages$/, metered: true },
      { methods: ['POST'], path: /^\/v1\/messages\/count_tokens$/, metered: false },
      { methods: ['GET'], path: new RegExp(`^/v1/models(/${NAME})?$`), metered: false },
    ],
  },  // Not served yet: a Gemini CLI run behind a worker's model proxy is refused (no route matches), never let
  // through unmetered. Serving it needs `x-goog-api-key` as a key scheme and usageMetadata metering.
  'gemini-generate-content': { prefix: '/gemini', rules: [] },
};

/** Never forwarded: hop-by-hop headers (RFC 9110 §7.6.1), credentials, and what fetch sets itself. */
const DROPPED_REQUEST_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'accept-encoding', 'authorization', 'x-api-key', 'expect']);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'content-encoding']);
/** A request body larger than this is refused (413) rather than read. */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

export interface ModelProxyOptions {
  upstreams: Upstreams;
  tenants?: TenantModelAccess | undefined;
  /** Every run's limit unless its tenant has one: input + output tokens. */
  maxTokensPerRun?: number | undefined;
}

export interface GrantInput {
  runId: string;
  /** The run's tenant; undefined for a conversation started without one (operator's keys). */
  tenant: string | undefined;
}

export interface ModelProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** The base URL a CLI speaking `api` is given. */
  baseUrl(api: ModelApiId): string;
  /** A token for one run, valid until revoked. */
  grant(input: GrantInput): Promise<RunGrant>;
  /** Tokens granted and not revoked. */
  readonly activeGrants: number;
  /** Stops listening and revokes every token. */
  close(): Promise<void>;
}

export class RunGrant implements ModelAccess {
  readonly token: string;
  readonly digest: Buffer;
  private readonly total: RunUsage = emptyUsage();
  private readonly controller = new AbortController();
  private revoked = false;

  constructor(
    readonly runId: string,
    private readonly proxy: { baseUrl(api: ModelApiId): string; forget(grant: RunGrant): void },
    readonly keys: Partial<Record<ModelApiId, UpstreamKey>>,
    readonly maxTokens: number | undefined,
  ) {
    this.token = `${RUN_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    this.digest = tokenDigest(this.token);
  }

  get failed(): AbortSignal {
    return this.controller.signal;
  }

  get isRevoked(): boolean {
    return this.revoked;
  }

  endpoint(api: ModelApiId): ModelEndpoint {
    return { api, baseUrl: this.proxy.baseUrl(api), token: this.token };
  }

  usage(): RunUsage {
    return { ...this.total };
  }

  /** Tokens counted against the limit. */
  get usedTokens(): number {
    return this.total.inputTokens + this.total.outputTokens;
  }

  add(delta: RunUsage): void {
    this.total.inputTokens += delta.inputTokens;
    this.total.cachedInputTokens += delta.cachedInputTokens;
    this.total.outputTokens += delta.outputTokens;
    this.total.requests += delta.requests;
  }

  fail(error: BatonError): void {
    if (!this.controller.signal.aborted) this.controller.abort(error);
  }

  revoke(): void {
    if (this.revoked) return;
    this.revoked = true;
    this.proxy.forget(this);
  }
}

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token a client presents: `Authorization: Bearer …` (OpenAI, Anthropic auth tokens) or `x-api-key` (Anthropic). */
function presentedToken(headers: Headers): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '')?.[1];
  return bearer ?? (headers.get('x-api-key')?.trim() || undefined);
}

type ProxyRefusal = 'authentication' | 'limit' | 'not_found' | 'no_key' | 'too_large' | 'upstream';

const STATUS: Record<ProxyRefusal, number> = { authentication: 401, limit: 429, not_found: 404, no_key: 401, too_large: 413, upstream: 502 };
const OPENAI_ERROR: Record<ProxyRefusal, { type: string; code: string }> = {
  authentication: { type: 'invalid_request_error', code: 'invalid_api_key' },
  no_key: { type: 'invalid_request_error', code: 'invalid_api_key' },
  limit: { type: 'insufficient_quota', code: 'insufficient_quota' },
  not_found: { type: 'invalid_request_error', code: 'unknown_url' },
  too_large: { type: 'invalid_request_error', code: 'request_too_large' },
  upstream: { type: 'server_error', code: 'bad_gateway' },
};
const ANTHROPIC_ERROR: Record<ProxyRefusal, string> = {
  authentication: 'authentication_error',
  no_key: 'authentication_error',
  limit: 'rate_limit_error',
  not_found: 'not_found_error',
  too_large: 'request_too_large',
  upstream: 'api_error',
};

/** An error the proxy answers itself, in the shape the API's own clients parse. */
export function providerError(api: ModelApiId, refusal: ProxyRefusal, message: string): Response {
  const body =
    api === 'openai-responses'
      ? { error: { message, type: OPENAI_ERROR[refusal].type, code: OPENAI_ERROR[refusal].code, param: null } }
      : { type: 'error', error: { type: ANTHROPIC_ERROR[refusal], message } };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // Retrying cannot help (the Anthropic SDK and Claude Code honour this header); an unreachable upstream may recover.
  if (refusal !== 'upstream') headers['x-should-retry'] = 'false';
  return new Response(JSON.stringify(body), { status: STATUS[refusal], headers });
}

export function limitError(used: number, limit: number): BatonError {
  return new BatonError('TOKEN_LIMIT_EXCEEDED', `the run used ${used} model tokens, which reaches its limit of ${limit}; the model proxy refused its next request`, {
    hint: 'raise the worker\'s --max-tokens-per-run (or the tenant\'s limit), or split the work into smaller follow-ups',
  });
}

export async function startModelProxy(options: ModelProxyOptions): Promise<ModelProxy> {
  const grants = new Map<string, RunGrant>();
  const tenants = options.tenants ?? OPERATOR_KEYS_ONLY;
  let url = '';
  const baseUrl = (api: ModelApiId): string => `${url}${ROUTES[api].prefix}`;
  const registry = { baseUrl, forget: (grant: RunGrant) => grants.delete(grant.digest.toString('hex')) };

  const findGrant = (headers: Headers): RunGrant | undefined => {
    const token = presentedToken(headers);
    if (!token) return undefined;
    const digest = tokenDigest(token);
    const grant = grants.get(digest.toString('hex'));
    return grant && !grant.isRevoked && timingSafeEqual(grant.digest, digest) ? grant : undefined;
  };

  const app = new Hono();
  app.all('*', async (c) => {
    const request = c.req.raw;
    const requestUrl = new URL(request.url);
    const api = (Object.keys(ROUTES) as ModelApiId[]).find((id) => requestUrl.pathname === ROUTES[id].prefix || requestUrl.pathname.startsWith(`${ROUTES[id].prefix}/`));
    if (!api) return c.json({ error: { message: 'baton model proxy: unknown API path', type: 'invalid_request_error', code: 'unknown_url' } }, 404);
    const below = requestUrl.pathname.slice(ROUTES[api].prefix.length);
    // Claude Code's connectivity check of its base URL: answered here, nothing to forward.
    if ((below === '' || below === '/') && (request.method === 'HEAD' || request.method === 'GET')) return c.body(null, 200);

    const grant = findGrant(request.headers);
    if (!grant) return providerError(api, 'authentication', 'baton model proxy: this token is not valid (a run\'s token is valid only while the run is active)');
    const rule = ROUTES[api].rules.find((candidate) => candidate.methods.includes(request.method) && candidate.path.test(below));
    if (!rule) return providerError(api, 'not_found', `baton model proxy: ${request.method} ${ROUTES[api].prefix}${below} is not forwarded`);
    if (rule.metered && grant.maxTokens !== undefined && grant.usedTokens >= grant.maxTokens) {
      const error = limitError(grant.usedTokens, grant.maxTokens);
      grant.fail(error);
      return providerError(api, 'limit', `baton: ${error.message}`);
    }
    const key = grant.keys[api] ?? options.upstreams[api].key;
    if (!key) return providerError(api, 'no_key', `baton model proxy: this worker has no key for ${api === 'openai-responses' ? 'OpenAI' : 'Anthropic'} (give OPENAI_API_KEY / ANTHROPIC_API_KEY to the worker, or a tenant secret)`);

    const declaredLength = Number(request.headers.get('content-length') ?? 0);
    if (declaredLength > MAX_REQUEST_BYTES) return providerError(api, 'too_large', 'baton model proxy: the request body is too large');
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
    if (body && body.byteLength > MAX_REQUEST_BYTES) return providerError(api, 'too_large', 'baton model proxy: the request body is too large');

    const upstream = options.upstreams[api].baseUrl;
    const target = new URL(upstream.href);
    target.pathname = `${upstream.pathname.replace(/\/+$/, '')}${below}`;
    target.search = requestUrl.search;
    const headers = forwardedRequestHeaders(request.headers, key);
    let response: Response;
    try {
      response = await fetch(target, { method: request.method, headers, body, redirect: 'manual', signal: request.signal });
    } catch (error) {
      return providerError(api, 'upstream', `baton model proxy: the upstream ${upstream.origin} did not answer: ${errorSummary(error)}`);
    }
    const responseHeaders = new Headers();
    for (const [name, value] of response.headers) if (!DROPPED_RESPONSE_HEADERS.has(name)) responseHeaders.append(name, value);
    // This hop's own framing. It also tells @hono/node-server not to hold the first chunks back (it waits up to a
    // timer tick for them, to give a short body a content-length): each chunk is written as it arrives.
    if (response.body) responseHeaders.set('transfer-encoding', 'chunked');
    if (!response.body || !rule.metered) return new Response(response.body, { status: response.status, headers: responseHeaders });
    const meter = new UsageMeter(api, response.headers.get('content-type') ?? undefined, (delta) => grant.add(delta));
    const metered = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk);
          meter.feed(chunk);
        },
        flush() {
          meter.end();
        },
      }),
    );
    return new Response(metered, { status: response.status, headers: responseHeaders });
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started as Server)) as Server;
    started.once('error', reject);
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    baseUrl,
    async grant(input) {
      const settings = input.tenant === undefined ? { keys: {} } : await tenants.settingsFor(input.tenant);
      const keys: Partial<Record<ModelApiId, UpstreamKey>> = {};
      if (settings.keys.openai) keys['openai-responses'] = { value: settings.keys.openai, scheme: 'bearer' };
      if (settings.keys.anthropic) keys['anthropic-messages'] = { value: settings.keys.anthropic, scheme: 'x-api-key' };
      const grant = new RunGrant(input.runId, registry, keys, settings.maxTokensPerRun ?? options.maxTokensPerRun);
      grants.set(grant.digest.toString('hex'), grant);
      return grant;
    },
    get activeGrants() {
      return grants.size;
    },
    async close() {
      for (const grant of [...grants.values()]) grant.revoke();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function forwardedRequestHeaders(incoming: Headers, key: UpstreamKey): Headers {
  const named = new Set((incoming.get('connection') ?? '').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== ''));
  const headers = new Headers();
  for (const [name, value] of incoming) if (!DROPPED_REQUEST_HEADERS.has(name) && !named.has(name)) headers.append(name, value);
  headers.set('accept-encoding', 'identity');
  if (key.scheme === 'bearer') headers.set('authorization', `Bearer ${key.value}`);
  else headers.set('x-api-key', key.value);
  return headers;
}
