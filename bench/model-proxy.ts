/**
 * Model-proxy benchmark: what a worker's model proxy (src/fleet/model-proxy/) adds to a model request, side by
 * side with a direct connection to the same upstream, in one run. A standalone script (`npx tsx
 * bench/model-proxy.ts [--quick]`, part of `npm run bench`); prints a table and writes
 * bench/model-proxy-results.json.
 *
 * The upstream is the scripted model server, holding each reply 20 ms after its first event (as a model does
 * between its first and last tokens), so first byte and total differ. A client (node:http, keep-alive) sends
 * streaming requests of a Codex-sized body (60 KB) for both wire APIs, alternating direct and proxied, after a
 * warm-up: first byte = request start → the first body byte; total = request start → the end of the stream.
 * Also a 1 MB reply sent in one burst, for throughput (its first byte is reported, not judged). Target: the proxy's first-byte overhead ≤ 5 ms (median).
 * Everything runs in this one process (client, proxy, upstream share one event loop), as on a worker where the
 * proxy shares the worker's process; the differences are therefore an upper bound of the proxy's own cost.
 *
 * Options: --quick (fewer requests).
 */
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startModelProxy } from '../src/fleet/model-proxy/proxy.js';
import { resolveUpstreams } from '../src/fleet/model-proxy/upstreams.js';
import { startScriptedModelServer } from '../src/testing/scripted-model-server.js';
import { median, round } from './lib/stats.js';
import { createTable, type Row } from './lib/table.js';

const quick = process.argv.includes('--quick');
const ROOT = join(import.meta.dirname, '..');
const REQUESTS = quick ? 40 : 200;
const LARGE_REQUESTS = quick ? 6 : 30;
const WARM_UP = 15;
const HOLD_MS = 20;
const BIG_TEXT = 'x'.repeat(1024 * 1024);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

interface Timing {
  firstByteMs: number;
  totalMs: number;
  bytes: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function timedRequest(url: string, headers: Record<string, string>, body: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = -1;
    let bytes = 0;
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (response) => {
      response.on('data', (chunk: Buffer) => {
        if (firstByteMs < 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
      });
      response.on('end', () => (response.statusCode === 200 ? resolve({ firstByteMs, totalMs: performance.now() - started, bytes }) : reject(new Error(`HTTP ${response.statusCode} from ${url}`))));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const model = await startScriptedModelServer({
    script: (view) => ({ kind: 'text', text: view.prompt === 'big' ? BIG_TEXT : 'a short scripted reply', delayMs: view.prompt === 'big' ? 0 : HOLD_MS }),
  });
  const upstreams = resolveUpstreams({ urls: { 'openai-responses': model.openaiBaseUrl, 'anthropic-messages': model.url }, env: { OPENAI_API_KEY: 'sk-bench-operator', ANTHROPIC_API_KEY: 'sk-ant-bench-operator' } });
  const proxy = await startModelProxy({ upstreams });
  const grant = await proxy.grant({ runId: 'run_bench', tenant: undefined });
  const padding = 'p'.repeat(60 * 1024);
  const bodies = {
    openai: (prompt: string) => JSON.stringify({ model: 'm', stream: true, instructions: padding, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: prompt }] }], tools: [] }),
    anthropic: (prompt: string) => JSON.stringify({ model: 'm', stream: true, max_tokens: 100, system: padding, messages: [{ role: 'user', content: prompt }], tools: [{ name: 'Bash', input_schema: { type: 'object' } }] }),
  };
  const variants = {
    'openai direct': () => timedRequest(`${model.openaiBaseUrl}/responses`, { authorization: 'Bearer sk-bench-operator' }, bodies.openai('hi')),
    'openai proxied': () => timedRequest(`${proxy.baseUrl('openai-responses')}/responses`, { authorization: `Bearer ${grant.token}` }, bodies.openai('hi')),
    'anthropic direct': () => timedRequest(`${model.url}/v1/messages?beta=true`, { 'x-api-key': 'sk-ant-bench-operator', 'anthropic-version': '2023-06-01' }, bodies.anthropic('hi')),
    'anthropic proxied': () => timedRequest(`${proxy.baseUrl('anthropic-messages')}/v1/messages?beta=true`, { 'x-api-key': grant.token, 'anthropic-version': '2023-06-01' }, bodies.anthropic('hi')),
    'openai 1 MB direct': () => timedRequest(`${model.openaiBaseUrl}/responses`, { authorization: 'Bearer sk-bench-operator' }, bodies.openai('big')),
    'openai 1 MB proxied': () => timedRequest(`${proxy.baseUrl('openai-responses')}/responses`, { authorization: `Bearer ${grant.token}` }, bodies.openai('big')),
  } as const;
  type Variant = keyof typeof variants;
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, [] as Timing[]])) as Record<Variant, Timing[]>;

  const measure = async (pair: [Variant, Variant], count: number): Promise<void> => {
    for (let index = 0; index < WARM_UP; index++) for (const name of pair) await variants[name]();
    // Alternating, so that both see the same machine.
    for (let index = 0; index < count; index++) {
      for (const name of index % 2 === 0 ? pair : ([pair[1], pair[0]] as const)) samples[name].push(await variants[name]());
    }
  };
  await measure(['openai direct', 'openai proxied'], REQUESTS);
  await measure(['anthropic direct', 'anthropic proxied'], REQUESTS);
  await measure(['openai 1 MB direct', 'openai 1 MB proxied'], LARGE_REQUESTS);

  const table = createTable();
  const results: Record<string, unknown> = { quick, requests: REQUESTS, holdMs: HOLD_MS, environment: { cores: cpus().length, loadavg: loadavg() }, figures: {} };
  const figures = results.figures as Record<string, unknown>;
  for (const [api, direct, proxied] of [
    ['OpenAI Responses', 'openai direct', 'openai proxied'],
    ['Anthropic Messages', 'anthropic direct', 'anthropic proxied'],
    ['OpenAI, 1 MB reply', 'openai 1 MB direct', 'openai 1 MB proxied'],
  ] as const) {
    table.section(`${api} (streaming, ${samples[direct].length} requests each, alternating)`);
    const first = (name: Variant) => samples[name].map((sample) => sample.firstByteMs);
    const total = (name: Variant) => samples[name].map((sample) => sample.totalMs);
    const overhead = median(first(proxied)) - median(first(direct));
    const overheadTotal = median(total(proxied)) - median(total(direct));
    table.row(`${api}: first byte direct / proxied (median)`, `${round(median(first(direct)))} / ${round(median(first(proxied)))} ms`);
    table.row(`${api}: first byte p95 direct / proxied`, `${round(percentile(first(direct), 95))} / ${round(percentile(first(proxied), 95))} ms`);
    // The 1 MB reply arrives from the upstream in one burst: its first byte waits for the burst, so only the
    // streamed replies (events spread over time, as a model sends them) are judged against the target.
    const judged = !api.includes('1 MB');
    table.row(`${api}: first-byte overhead (median)`, `${round(overhead)} ms (×${round(median(first(proxied)) / median(first(direct)))})`, judged ? '≤ 5 ms' : '', judged ? overhead <= 5 : undefined);
    table.row(`${api}: total direct / proxied (median)`, `${round(median(total(direct)))} / ${round(median(total(proxied)))} ms (+${round(overheadTotal)} ms, ×${round(median(total(proxied)) / median(total(direct)))})`);
    const bytes = samples[proxied][0]?.bytes ?? 0;
    if (bytes > 512 * 1024) table.row(`${api}: throughput direct / proxied`, `${round(bytes / 1024 / 1024 / (median(total(direct)) / 1000), 0)} / ${round(bytes / 1024 / 1024 / (median(total(proxied)) / 1000), 0)} MB/s`);
    figures[api] = {
      firstByteMedianMs: { direct: round(median(first(direct)), 3), proxied: round(median(first(proxied)), 3), overhead: round(overhead, 3) },
      firstByteP95Ms: { direct: round(percentile(first(direct), 95), 3), proxied: round(percentile(first(proxied), 95), 3) },
      totalMedianMs: { direct: round(median(total(direct)), 3), proxied: round(median(total(proxied)), 3), overhead: round(overheadTotal, 3), ratio: round(median(total(proxied)) / median(total(direct)), 3) },
      bytes,
    };
  }
  const counted = grant.usage();
  table.section('usage counted on the way');
  table.row('requests metered / sent through the proxy', `${counted.requests} / ${samples['openai proxied'].length + samples['anthropic proxied'].length + samples['openai 1 MB proxied'].length + 3 * WARM_UP}`, 'all', counted.requests === samples['openai proxied'].length + samples['anthropic proxied'].length + samples['openai 1 MB proxied'].length + 3 * WARM_UP);

  grant.revoke();
  await proxy.close();
  await model.close();
  agent.destroy();
  results.rows = table.rows;
  results.totalSeconds = round((Date.now() - startedAt) / 1000, 1);
  await writeFile(join(ROOT, 'bench/model-proxy-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  printTable(table.rows);
  const tally = (verdict: Row['result']): number => table.rows.filter((row) => row.result === verdict).length;
  process.stdout.write(`\n${tally('pass')} pass, ${tally('FAIL')} fail · ${results.totalSeconds as number} s · bench/model-proxy-results.json\n`);
}

function printTable(rows: Row[]): void {
  const body = rows.filter((row) => row.result !== '');
  const widths = [Math.max(6, ...body.map((row) => row.figure.length)), Math.max(8, ...body.map((row) => row.measured.length)), Math.max(6, ...body.map((row) => row.target.length))] as const;
  const line = (row: Row): string => `${row.figure.padEnd(widths[0])} | ${row.measured.padEnd(widths[1])} | ${row.target.padEnd(widths[2])} | ${row.result}`;
  const lines = [`baton model-proxy benchmark — ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, load ${loadavg().map((value) => value.toFixed(2)).join(' ')}`];
  lines.push(line({ figure: 'figure', measured: 'measured', target: 'target', result: 'result' as Row['result'] }));
  lines.push(`${'-'.repeat(widths[0])}-+-${'-'.repeat(widths[1])}-+-${'-'.repeat(widths[2])}-+-------`);
  for (const row of rows) lines.push(row.result === '' ? row.figure : line(row));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
