/**
 * `baton run --sandbox` on a laptop, with the real CLIs: the agent works in its cwd and the CLI keeps its
 * state, but what it tries to write anywhere else — /etc, the store's folder, another project — stays
 * untouched, and it reads nothing of the user's home. The conversation still resumes, sandboxed, elsewhere.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationOf, lastUserText } from './model-requests.js';
import { createWorld, runJson, type World } from './world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world?.cleanup();
});

describe.each(['codex', 'claude'] as const)('%s with --sandbox', (harness) => {
  it('writes its cwd and nothing outside its places, and the conversation resumes sandboxed on another machine', async () => {
    const machine = await world.machine(`sandboxed-${harness}`);
    const neighbour = await world.machine(`neighbour-${harness}`);
    await writeFile(join(machine.home, 'private-note'), 'HOME-PRIVATE-NOTE\n');
    const storeDir = dirname(world.storePath);
    const targets = ['/etc/baton-sandbox-probe', join(storeDir, 'planted'), join(neighbour.cwd, 'planted'), join(machine.home, 'planted')];
    const attack = `RUN for target in ${targets.join(' ')}; do (echo x > "$target") 2>/dev/null && echo "wrote $target"; done; cat ${join(machine.home, 'private-note')} 2>&1; id -u; echo made > made-here.txt && echo own-cwd-ok`;
    const result = await world.baton(machine, ['run', '--harness', harness, '--sandbox', '--json', attack]);
    expect(result.code, result.stderr).toBe(0);
    const { conversationId } = runJson(result);

    for (const target of targets) await expect(stat(target), target).rejects.toThrow();
    expect(await readdir(storeDir)).not.toContain('planted');
    expect(await readFile(join(machine.cwd, 'made-here.txt'), 'utf8')).toBe('made\n');
    const output = conversationOf(world.turns().findLast((turn) => turn.body && JSON.stringify(turn.body).includes('own-cwd-ok') && lastUserText(turn) === attack)!)
      .filter((turn) => turn.kind === 'tool_output')
      .map((turn) => turn.text)
      .join('\n');
    expect(output).toContain('own-cwd-ok');
    expect(output).toMatch(/^1000$/m); // not root inside
    expect(output).not.toContain('HOME-PRIVATE-NOTE');
    // Writes to HOME land in the sandbox's private, empty home; the CLI's own state (its home) is kept.
    expect(output).not.toMatch(/^wrote \/etc|^wrote .*(store|neighbour)/m);

    const other = await world.machine(`resumer-${harness}`);
    const resumed = await world.baton(other, ['resume', conversationId, '--sandbox', '--json', `what did it print? ${harness}`]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const request = world.turns().find((turn) => lastUserText(turn) === `what did it print? ${harness}`)!;
    expect(conversationOf(request)).toContainEqual({ kind: 'tool_output', text: expect.stringContaining('own-cwd-ok') });
  });
});
