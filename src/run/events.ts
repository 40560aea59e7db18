/**
 * Run events: delivered live to a subscriber as they happen, and stored in batches with each save; redacted
 * before either (a command's output is the agent's, and may be `cat .env`).
 */
import type { HarnessEvent } from '../harness/harness.js';
import type { NewRunEvent, Store } from '../store/store.js';
import { noRedaction, type Redactor } from '../redact/redactor.js';

export type TimedEvent = HarnessEvent & { at: number };

export class RunEventRecorder {
  private pending: NewRunEvent[] = [];
  /** Batches are stored one after another, so events keep their order across overlapping flushes. */
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  /** With `flushAfterMs`, events are also stored that soon after they happen, not only with each save. */
  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly subscriber: ((event: TimedEvent) => void) | undefined,
    private readonly flushAfterMs?: number,
    private readonly redactor: Redactor = noRedaction,
  ) {}

  async record(event: HarnessEvent): Promise<void> {
    const at = Date.now();
    const timed: TimedEvent = { ...(await this.redactor.redactData(event)), at };
    const { type, at: _at, ...data } = timed;
    this.pending.push({ at, type, data });
    try {
      this.subscriber?.(timed);
    } catch {
      // A display problem never stops a run.
    }
    if (this.flushAfterMs !== undefined && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        // A failed early flush keeps its events for the next one (the save's flush reports errors).
        this.flush().catch(() => undefined);
      }, this.flushAfterMs);
    }
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.flushing.catch(() => undefined).then(() => this.writePending());
    this.flushing = next;
    return next;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.appendRunEvents(this.runId, batch);
    } catch (error) {
      this.pending = [...batch, ...this.pending];
      throw error;
    }
  }
}
