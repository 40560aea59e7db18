import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/redact/redactor.js';
import { compareRedactedLocalCopy } from '../../src/run/redacted-local-copy.js';

const KEY = 'sk-planted-0123456789abcdefghij';
const line = (text: string): string => `${JSON.stringify({ type: 'tool_output', text })}\n`;
const buffer = (...lines: string[]): Buffer => Buffer.from(lines.join(''));
const knowing = createRedactor([{ name: 'OPENAI_API_KEY', value: KEY }]);
const notKnowing = createRedactor([]);

describe("a CLI's local copy compared with the stored, redacted one", () => {
  const stored = buffer(line('start'), line('key [REDACTED:$OPENAI_API_KEY] here'), line('end'));
  const local = buffer(line('start'), line(`key ${KEY} here`), line('end'));

  it('is the same transcript when it differs only where the store redacted', async () => {
    for (const redactor of [knowing, notKnowing]) {
      const { relation, redacted } = await compareRedactedLocalCopy(local, stored, redactor);
      expect(relation).toBe('same');
      expect(redacted.equals(stored)).toBe(true);
    }
  });

  it('extends the stored one when it has more lines, which are redacted with what this run knows', async () => {
    const longer = Buffer.concat([local, buffer(line(`again ${KEY}`))]);
    const { relation, redacted } = await compareRedactedLocalCopy(longer, stored, knowing);
    expect(relation).toBe('longer');
    expect(redacted.toString()).toBe(stored.toString() + line('again [REDACTED:$OPENAI_API_KEY]'));
  });

  it('is an older copy when the store went on', async () => {
    const { relation } = await compareRedactedLocalCopy(local, Buffer.concat([stored, buffer(line('from another machine'))]), notKnowing);
    expect(relation).toBe('older');
  });

  it('still differs when it holds other text than the store, placeholder or not', async () => {
    expect((await compareRedactedLocalCopy(buffer(line('start'), line(`KEY ${KEY} there`), line('end')), stored, notKnowing)).relation).toBe('different');
    expect((await compareRedactedLocalCopy(buffer(line('start'), line('key  here'), line('end')), stored, notKnowing)).relation).toBe('different');
    expect((await compareRedactedLocalCopy(buffer(line('other'), line('end')), buffer(line('start'), line('end')), notKnowing)).relation).toBe('different');
  });
});
