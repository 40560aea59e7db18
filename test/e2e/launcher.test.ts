/**
 * bin/baton, the command a user runs (package.json's `bin`): it hands NODE_EXTRA_CA_CERTS on without Node parsing
 * it as baton boots (50 ms with the system bundle), and baton still honours it — its own TLS connections trust those
 * certificates, and the agent CLI gets the variable as the user set it.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { conversationOf } from './model-requests.js';
import { createWorld, LAUNCHER, runJson, type World } from './world.js';

const run = promisify(execFile);

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => {
  await world.cleanup();
});

/** A certificate authority of the test's own and a certificate it signed for 127.0.0.1 (Debian's openssl). */
async function testAuthority(dir: string): Promise<{ caFile: string; key: Buffer; cert: Buffer }> {
  const file = (name: string) => join(dir, name);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=baton test CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(file('ext'), 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '1', '-extfile', file('ext')]);
  return { caFile: file('ca.pem'), key: await readFile(file('server.key')), cert: await readFile(file('server.pem')) };
}

describe('bin/baton', () => {
  it('runs through a relative symlink, as npm links it into node_modules/.bin', async () => {
    const linkDir = join(world.root, 'node_modules', '.bin');
    await mkdir(linkDir, { recursive: true });
    await symlink(relative(linkDir, LAUNCHER), join(linkDir, 'baton'));
    const { stdout } = await run(join(linkDir, 'baton'), ['--version'], { cwd: world.root });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('NODE_EXTRA_CA_CERTS through bin/baton', () => {
  it('is not read as baton boots: a file that will not load gets no warning from baton, as it does from node itself', async () => {
    const machine = await world.machine('machine');
    const missing = join(world.root, 'no-such-bundle.pem');
    const viaLauncher = await world.baton(machine, ['--version'], { launcher: true, env: { NODE_EXTRA_CA_CERTS: missing } });
    expect(viaLauncher.code, viaLauncher.stderr).toBe(0);
    expect(viaLauncher.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(viaLauncher.stderr).toBe('');
    const direct = await world.baton(machine, ['--version'], { env: { NODE_EXTRA_CA_CERTS: missing } });
    expect(direct.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
  });

  it("is trusted by baton's own TLS connections (here --server), and only when it is set", async () => {
    const machine = await world.machine('machine');
    const { caFile, key, cert } = await testAuthority(world.root);
    const requests: string[] = [];
    const server: Server = createServer({ key, cert }, (request, response) => {
      requests.push(`${request.method} ${request.url} ${request.headers.authorization}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ conversations: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
      const env = { BATON_TOKEN: 'test-token' };
      const trusted = await world.baton(machine, ['ls', '--server', url, '--json'], { launcher: true, env: { ...env, NODE_EXTRA_CA_CERTS: caFile } });
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(JSON.parse(trusted.stdout)).toEqual([]);
      expect(requests).toEqual(['GET /v1/conversations Bearer test-token']);

      const untrusted = await world.baton(machine, ['ls', '--server', url, '--json'], { launcher: true, env });
      expect(untrusted.code).not.toBe(0);
      expect(untrusted.stderr).toMatch(/certificate|UNABLE_TO_VERIFY/i);
      expect(requests).toHaveLength(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe.each(['codex', 'claude'] as const)('with %s', (harness) => {
    it('reaches the agent CLI as the user set it, and baton run still runs', async () => {
      const machine = await world.machine('machine');
      const { caFile } = await testAuthority(world.root);
      const result = await world.baton(machine, ['run', '--harness', harness, '--json', 'RUN echo "certs=$NODE_EXTRA_CA_CERTS deferred=${BATON_DEFERRED_NODE_EXTRA_CA_CERTS:-none}"'], {
        launcher: true,
        env: { NODE_EXTRA_CA_CERTS: caFile },
      });
      expect(runJson(result), result.stderr).toMatchObject({ status: 'succeeded' });
      const outputs = world.turns().flatMap((turn) => conversationOf(turn).filter((item) => item.kind === 'tool_output').map((item) => item.text));
      expect(outputs.join('\n')).toContain(`certs=${caFile} deferred=none`);
    });
  });
});
