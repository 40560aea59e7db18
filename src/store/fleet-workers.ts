/**
 * The fleet's worker registry: each `baton worker` registers, heartbeats with the ids of its job-queue
 * workers, and removes itself on stop; a worker whose heartbeat is too old is presumed dead (src/fleet/worker.ts).
 */

export interface FleetWorkerRecord {
  id: string;
  host: string;
  /** The graphile-worker ids whose jobs it holds: unlocked when it is presumed dead. */
  queueWorkerIds: string[];
}

export interface FleetWorkerStore {
  register(worker: { id: string; host: string; pid: number; startedAt: number }): Promise<void>;
  heartbeat(id: string, queueWorkerIds: string[], at: number): Promise<void>;
  /** The workers whose last heartbeat is older than `before`. */
  silentSince(before: number): Promise<FleetWorkerRecord[]>;
  remove(id: string): Promise<void>;
}
