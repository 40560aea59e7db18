/** Run events: delivered live to a subscriber as they happen, and stored in batches with each save. */
import type { HarnessEvent } from '../harness/harness.js';
import type { NewRunEvent, Store } from '../store/store.js';

export type TimedEvent = HarnessEvent & { at: number };

export class RunEventRecorder {
  private pending: NewRunEvent[] = [];

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly subscriber: ((event: TimedEvent) => void) | undefined,
  ) {}

  async record(event: HarnessEvent): Promise<void> {
    const timed: TimedEvent = { ...event, at: Date.now() };
    const { type, at, ...data } = timed;
    this.pending.push({ at, type, data });
    try {
      this.subscriber?.(timed);
    } catch {
      // A display problem never stops a run.
    }
  }

  async flush(): Promise<void> {
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
