/** Which saved turns belong to which run: the same answer for `baton show` and the web UI. */
import { describe, expect, it } from 'vitest';
import { splitTurns, turnsOfRuns, type ViewItem } from '../../src/transcript/view.js';

const user = (text: string): ViewItem => ({ kind: 'user', text });
const reply = (text: string): ViewItem => ({ kind: 'assistant', text });
const runs = (...prompts: string[]) => prompts.map((prompt) => ({ prompt }));

describe('turnsOfRuns', () => {
  it('gives each run its own turn', () => {
    const turns = splitTurns([user('one'), reply('1'), user('two'), reply('2')]);
    expect(turnsOfRuns(runs('one', 'two'), turns)).toEqual({ turnsOfRun: [[0], [1]], unclaimed: [] });
  });

  it('leaves a run that saved nothing without a turn, wherever it is — also the active run not saved yet', () => {
    const turns = splitTurns([user('one'), reply('1'), user('three'), reply('3')]);
    expect(turnsOfRuns(runs('one', 'two', 'three', 'four'), turns)).toEqual({ turnsOfRun: [[0], [], [1], []], unclaimed: [] });
  });

  it("gives a handed-over run both its interrupted turn and the continuation that quotes its prompt", () => {
    const turns = splitTurns([user('do it'), reply('working'), user('[baton] Your previous turn was interrupted …\n\ndo it'), reply('done'), user('next'), reply('ok')]);
    expect(turnsOfRuns(runs('do it', 'next'), turns)).toEqual({ turnsOfRun: [[0, 1], [2]], unclaimed: [] });
  });

  it('keeps turns before any run (an imported history) as unclaimed, and repeated prompts in order', () => {
    const turns = splitTurns([user('older'), reply('x'), user('again'), reply('a'), user('again'), reply('b')]);
    expect(turnsOfRuns(runs('again', 'again'), turns)).toEqual({ turnsOfRun: [[1], [2]], unclaimed: [0] });
  });

  it('gives an interactive run (no prompt of its own) the turns typed in it, up to the next run\'s prompt', () => {
    const interactive = { prompt: '', kind: 'interactive' };
    const turns = splitTurns([user('first'), reply('1'), user('typed a'), reply('a'), user('typed b'), reply('b'), user('later'), reply('2')]);
    expect(turnsOfRuns([{ prompt: 'first' }, interactive, { prompt: 'later' }], turns)).toEqual({ turnsOfRun: [[0], [1, 2], [3]], unclaimed: [] });
  });

  it('leaves an interactive run that saved no turn empty', () => {
    const interactive = { prompt: '', kind: 'interactive' };
    const turns = splitTurns([user('first'), reply('1'), user('later'), reply('2')]);
    expect(turnsOfRuns([{ prompt: 'first' }, interactive, { prompt: 'later' }], turns)).toEqual({ turnsOfRun: [[0], [], [1]], unclaimed: [] });
    expect(turnsOfRuns([{ prompt: 'first' }, interactive, interactive], turns)).toEqual({ turnsOfRun: [[0], [1], []], unclaimed: [] });
  });
});
