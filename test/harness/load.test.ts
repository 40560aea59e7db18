import { describe, expect, it } from 'vitest';
import { HARNESS_IDS } from '../../src/harness/ids.js';
import { assertHarnessName, loadHarness } from '../../src/harness/load.js';
import { getHarness } from '../../src/harness/registry.js';

describe('loading one harness on demand', () => {
  it('gives the registry\'s harness for every id', async () => {
    for (const id of HARNESS_IDS) expect(await loadHarness(id)).toBe(getHarness(id));
  });

  it('refuses a name that is no harness with HARNESS_UNKNOWN and the choices', () => {
    expect(() => assertHarnessName('cursor')).toThrow(expect.objectContaining({ code: 'HARNESS_UNKNOWN', hint: expect.stringContaining(HARNESS_IDS.join(', ')) }));
  });
});
