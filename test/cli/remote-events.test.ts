import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteClient } from '../../src/cli/remote.js';
import type { TimedEvent } from '../../src/run/events.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server whose GET /v1/runs/{id}/events answers these SSE messages, then ends the run. */
async function streamingServer(events: unknown[]): Promise<string> {
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    events.forEach((event, index) => response.write(`id: ${index + 1}\nevent: run-event\ndata: ${JSON.stringify(event)}\n\n`));
    response.end(`event: end\ndata: ${JSON.stringify({ id: 'r_1', status: 'succeeded' })}\n\n`);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('remote run events', () => {
  it('hands on the events it knows, typed, and skips unknown types and malformed events', async () => {
    const at = '2026-11-27T01:02:03.000Z';
    const url = await streamingServer([
      { type: 'command.completed', command: 'ls', exitCode: 0, output: 'a\n', sequence: 1, at },
      { type: 'thread.started', thread_id: 'x', sequence: 2, at },
      { type: 'message', text: { not: 'a string' }, sequence: 3, at },
      { type: 'command.completed', command: 'ls', sequence: 4, at },
      { type: 'message', text: 'done', sequence: 5, at },
    ]);
    const seen: TimedEvent[] = [];
    const run = await new RemoteClient({ url, token: 't' }).followRun('r_1', (event) => seen.push(event));
    expect(run).toMatchObject({ id: 'r_1', status: 'succeeded' });
    expect(seen).toEqual([
      { type: 'command.completed', command: 'ls', exitCode: 0, output: 'a\n', at: Date.parse(at) },
      { type: 'message', text: 'done', at: Date.parse(at) },
    ]);
  });
});
