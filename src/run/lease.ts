/**
 * Keeping a run's lease on its conversation: renewed on a timer of its own (never queued behind a save or a
 * workspace snapshot), and declared lost the moment the store says another run holds the conversation, or
 * when the lease has run out without a renewal (the store unreachable, or this process stopped — SIGSTOP, a
 * suspended laptop — for longer than the lease). A lost lease is final: the run must stop writing.
 */
import { errorMessage } from '../errors.js';
import type { Store } from '../store/store.js';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private lastRenewedAt = Date.now();
  private renewing: Promise<void> | undefined;
  private lostReason: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly leaseMs: number,
    private readonly onLost: (reason: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 3)));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Renews now (a renewal in flight is joined); settles with the lease held or declared lost. */
  renew(): Promise<void> {
    if (this.lostReason) return Promise.resolve();
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  /** Declares the lease lost (e.g. the store refused a save with LEASE_LOST). */
  lose(reason: string): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    this.stop();
    this.onLost(reason);
  }

  private async renewOnce(): Promise<void> {
    const attemptedAt = Date.now();
    try {
      const held = await this.store.renewLease(this.runId, this.leaseMs);
      if (!held) return this.lose('another run took over the conversation after this run\'s lease expired');
      this.lastRenewedAt = attemptedAt;
    } catch (error) {
      // Not lost yet: the lease holds until it expires, and nobody can take it over before.
      if (Date.now() - this.lastRenewedAt >= this.leaseMs) this.lose(`the lease expired while the store could not be reached (${errorMessage(error)})`);
    }
  }
}
