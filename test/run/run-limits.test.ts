/** The durations --stall-timeout and --max-run-time take, and how a worker's defaults and caps combine with a run's own. */
import { describe, expect, it } from 'vitest';
import { isBatonError } from '../../src/errors.js';
import { formatDuration, limitWithin, parseDuration } from '../../src/run/run-limits.js';

describe('parseDuration', () => {
  it('reads 90s, 10m, 1h, 500ms, a plain number of seconds, and 0 (off)', () => {
    expect([parseDuration('90s', '--x'), parseDuration('10m', '--x'), parseDuration('1h', '--x'), parseDuration('500ms', '--x'), parseDuration('30', '--x'), parseDuration('0', '--x'), parseDuration('1.5m', '--x')]).toEqual([90_000, 600_000, 3_600_000, 500, 30_000, 0, 90_000]);
  });

  it('refuses anything else with USAGE naming the option', () => {
    for (const text of ['', 'soon', '-5s', '10 minutes', '1d']) {
      let caught: unknown;
      try {
        parseDuration(text, '--stall-timeout');
      } catch (error) {
        caught = error;
      }
      expect(isBatonError(caught, 'USAGE') && caught.message.startsWith('--stall-timeout must be a duration')).toBe(true);
    }
  });

  it('formats as the flags are written', () => {
    expect([formatDuration(2_000), formatDuration(600_000), formatDuration(7_200_000), formatDuration(1_500), formatDuration(90_000)]).toEqual(['2s', '10m', '2h', '1500ms', '90s']);
  });
});

describe('limitWithin: a run\'s own limit, else the worker\'s default, never over the worker\'s cap', () => {
  it('takes the run\'s, else the default', () => {
    expect(limitWithin(5_000, 600_000, undefined)).toBe(5_000);
    expect(limitWithin(undefined, 600_000, undefined)).toBe(600_000);
    expect(limitWithin(undefined, undefined, undefined)).toBeUndefined();
  });

  it('caps it: a longer one, or none at all (0), gets the cap', () => {
    expect(limitWithin(7_200_000, 600_000, 3_600_000)).toBe(3_600_000);
    expect(limitWithin(0, 600_000, 3_600_000)).toBe(3_600_000);
    expect(limitWithin(60_000, 600_000, 3_600_000)).toBe(60_000);
    expect(limitWithin(undefined, undefined, 3_600_000)).toBe(3_600_000);
  });
});
