/**
 * No run hangs for ever: a stall timeout (the CLI printed nothing, on stdout or stderr, and its transcript did not
 * grow, for that long) and a cap on the whole run's time. Either stops the CLI as an interrupt does — SIGINT first,
 * so it writes what it has, then the final save — and fails the run as STALLED or RUN_TIME_EXCEEDED. A CLI's
 * notices that it is retrying (Codex's "Reconnecting... N/5") are not progress: a CLI that only retries stalls.
 */
import { BatonError } from '../errors.js';

/** Ten minutes without a word: far longer than a model's slowest first token, short enough for an operator. */
export const DEFAULT_STALL_TIMEOUT_MS = 10 * 60_000;

export interface RunLimits {
  /** Stop the CLI after this long without output or transcript growth; 0 = never. Default DEFAULT_STALL_TIMEOUT_MS. */
  stallTimeoutMs?: number | undefined;
  /** Stop the run after this long in all; 0 or undefined = no cap. */
  maxRunTimeMs?: number | undefined;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `90s`, `10m`, `1h`, `500ms`, or a plain number of seconds; `0` = off. USAGE names the option when it does not parse. */
export function parseDuration(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!match) throw new BatonError('USAGE', `${option} must be a duration such as 90s, 10m or 1h (0 = off), not ${JSON.stringify(text)}`, { hint: `for example ${option} 15m` });
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()]!);
}

/** A duration as the messages show it: `90s`, `10m`, `2h`, `1500ms`. */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** The limit a worker applies: the run's own, else the worker's default, and never more than the worker's cap (0 = none). */
export function limitWithin(requested: number | undefined, fallback: number | undefined, cap: number | undefined): number | undefined {
  const chosen = requested ?? fallback;
  if (!cap) return chosen;
  // A run that asks for no limit (0) on a capped worker gets the cap.
  return chosen === undefined || chosen === 0 || chosen > cap ? cap : chosen;
}

export type LimitReached = { code: 'STALLED' | 'RUN_TIME_EXCEEDED'; message: string };

/**
 * Watches one run: `activity()` on every sign of life; calls `onLimit` once, when the CLI has been silent for the
 * stall timeout or the run reaches its time cap.
 */
export class RunWatchdog {
  private lastActivity = Date.now();
  private readonly startedAt = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private fired = false;

  constructor(
    private readonly limits: { stallTimeoutMs: number; maxRunTimeMs: number },
    private readonly describe: { cliName: string; lastWords: () => string | undefined; lastOutputAt: () => number },
    private readonly onLimit: (reached: LimitReached) => void,
  ) {}

  start(): void {
    const { stallTimeoutMs, maxRunTimeMs } = this.limits;
    if (stallTimeoutMs > 0) {
      // Checked a few times per timeout: a stall is noticed within an eighth of it (at least every 5 s).
      const every = Math.min(5_000, Math.max(50, Math.floor(stallTimeoutMs / 8)));
      const check = setInterval(() => {
        const silent = Date.now() - Math.max(this.lastActivity, this.describe.lastOutputAt());
        if (silent >= stallTimeoutMs) {
          const last = this.describe.lastWords();
          this.fire({
            code: 'STALLED',
            message: `${this.describe.cliName} printed nothing and its transcript did not grow for ${formatDuration(stallTimeoutMs)} (--stall-timeout): baton stopped it${last ? `; its last message was: ${last}` : ''}`,
          });
        }
      }, every);
      check.unref();
      this.timers.push(check);
    }
    if (maxRunTimeMs > 0) {
      const cap = setTimeout(() => {
        this.fire({ code: 'RUN_TIME_EXCEEDED', message: `the run reached its time limit of ${formatDuration(maxRunTimeMs)} (--max-run-time): baton stopped ${this.describe.cliName} after ${formatDuration(Date.now() - this.startedAt)}` });
      }, maxRunTimeMs);
      cap.unref();
      this.timers.push(cap);
    }
  }

  activity(): void {
    this.lastActivity = Date.now();
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
  }

  private fire(reached: LimitReached): void {
    if (this.fired) return;
    this.fired = true;
    this.stop();
    this.onLimit(reached);
  }
}
