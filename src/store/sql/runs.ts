/**
 * Runs and the conversation's lease: a queued run waits for a worker; a running one holds its conversation's
 * lease (active_run_id, lease_expires_at) until it finishes, and a run whose lease expired is taken over.
 */
import type { Transaction } from 'kysely';
import { BatonError } from '../../errors.js';
import { encodeRedaction } from '../../redact/redactor.js';
import { plaintextCipher, rowIdentity, type RowCipher } from '../encryption.js';
import type { Database } from '../schema.js';
import type { FinishRunInput, QueueRunInput, Run, RunUsage, StartRunInput } from '../store.js';
import { sumUsage } from '../store.js';
import type { SqlContext } from './context.js';
import { lockConversation } from './conversations.js';
import { limitsColumn, num, runIdentity, sealRunColumns, sealRunError, toRun, usageColumns } from './rows.js';

export function leaseLostError(conversationId: string, runId: string | undefined): BatonError {
  return new BatonError('LEASE_LOST', `run ${runId} no longer holds the lease of conversation ${conversationId}: another run took it over`, {
    hint: 'its work since the last save is kept as a fork of the conversation; see `baton show ' + conversationId + '`',
  });
}

/** Throws LEASE_LOST unless `runId` is the conversation's active run (inside the write's transaction). */
export async function assertLeaseHolder(trx: Transaction<Database>, conversationId: string, runId: string | undefined): Promise<void> {
  const row = await trx.selectFrom('conversations').select('active_run_id').where('id', '=', conversationId).executeTakeFirst();
  if (!runId || row?.active_run_id !== runId) throw leaseLostError(conversationId, runId);
}

/** The number the conversation's next run gets: one after its last (read under the conversation's lock). */
async function nextRunSequence(trx: Transaction<Database>, conversationId: string): Promise<number> {
  const last = await trx
    .selectFrom('runs')
    .select((eb) => eb.fn.max('sequence').as('sequence'))
    .where('conversation_id', '=', conversationId)
    .executeTakeFirst();
  return num(last?.sequence ?? 0) + 1;
}

/**
 * Inserts a queued run numbered after every earlier run of the conversation, inside `trx` — so that a job
 * queue on the same database can enqueue its job in the same transaction (run-queue.ts).
 */
async function queueRunIn(trx: Transaction<Database>, input: QueueRunInput, notFound: () => Error, cipher: RowCipher): Promise<Run> {
  const now = Date.now();
  await lockConversation(trx, input.conversationId, now, notFound);
  const sequence = await nextRunSequence(trx, input.conversationId);
  const row = {
    id: input.runId,
    conversation_id: input.conversationId,
    sequence,
    kind: sequence === 1 ? 'new' : 'resume',
    prompt: input.prompt,
    status: 'queued',
    host: '',
    cwd: '',
    started_at: now,
    ended_at: null,
    exit_code: null,
    error: null,
    queued_at: now,
    handoffs: 0,
    redaction: null,
    limits: limitsColumn(input.limits),
  };
  await trx.insertInto('runs').values(sealRunColumns(row, cipher)).execute();
  return toRun(sealRunColumns(row, cipher), cipher);
}

export class SqlRuns {
  constructor(private readonly context: SqlContext) {}

  async queue(input: QueueRunInput): Promise<Run> {
    const { db } = this.context;
    const cipher = await this.context.cipherFor(db, input.conversationId);
    return db.transaction().execute(async (trx) => queueRunIn(trx, input, () => this.context.notFound(input.conversationId), cipher));
  }

  /** queue, inside `trx` (with the cipher read in it): for a job queue that enqueues in the same transaction. */
  async queueInTransaction(trx: Transaction<Database>, input: QueueRunInput, notFound: () => Error): Promise<Run> {
    const { encryption } = this.context;
    const cipher = encryption.encrypted ? await encryption.forConversation(trx, input.conversationId) : plaintextCipher;
    if (!cipher) throw notFound();
    return queueRunIn(trx, input, notFound, cipher);
  }

  /** Puts an interrupted run back in the queue, one more handoff; false (nothing changed) unless it ended interrupted. */
  async requeueInterruptedInTransaction(trx: Transaction<Database>, runId: string): Promise<boolean> {
    const updated = await trx
      .updateTable('runs')
      .set((eb) => ({ status: 'queued', handoffs: eb('handoffs', '+', 1), ended_at: null, exit_code: null, error: null }))
      .where('id', '=', runId)
      .where('status', '=', 'interrupted')
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) > 0;
  }

  async start(input: StartRunInput): Promise<Run> {
    const { db } = this.context;
    const cipher = await this.context.cipherFor(db, input.conversationId);
    return db.transaction().execute(async (trx) => {
      const now = Date.now();
      await lockConversation(trx, input.conversationId, now, () => this.context.notFound(input.conversationId));
      const previous = await trx
        .selectFrom('conversations')
        .select(['active_run_id', 'lease_expires_at'])
        .where('id', '=', input.conversationId)
        .executeTakeFirstOrThrow();
      const cwd = cipher.sealText(rowIdentity('conversations.cwd', input.conversationId), input.cwd);
      const taken = await trx
        .updateTable('conversations')
        .set({ active_run_id: input.runId, lease_expires_at: now + input.leaseMs, updated_at: now, cwd })
        .where('id', '=', input.conversationId)
        .where((eb) => eb.or([eb('active_run_id', 'is', null), eb('lease_expires_at', '<', now)]))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 0) {
        const active = previous.active_run_id
          ? await trx.selectFrom('runs').select(['host', 'started_at']).where('id', '=', previous.active_run_id).executeTakeFirst()
          : undefined;
        const where = active ? ` on ${active.host} since ${new Date(num(active.started_at)).toISOString()}` : '';
        throw new BatonError('CONVERSATION_BUSY', `conversation ${input.conversationId} is busy: run ${previous.active_run_id} is active${where}`, {
          hint: 'wait for that run to finish (a run whose process died is taken over once its lease expires), then resume again',
        });
      }
      if (previous.active_run_id) {
        // The previous holder's lease expired: its process died without a final save.
        const error = 'lease expired: the process running it stopped without a final save; the transcript is kept up to its last save';
        await trx
          .updateTable('runs')
          .set({ status: 'failed', ended_at: now, error: sealRunError(cipher, { id: previous.active_run_id, conversation_id: input.conversationId }, error) })
          .where('id', '=', previous.active_run_id)
          .where('conversation_id', '=', input.conversationId)
          .where('status', '=', 'running')
          .execute();
      }
      const claimed = await trx
        .updateTable('runs')
        .set({ status: 'running', kind: input.kind, host: input.host, cwd: cipher.sealText(runIdentity('cwd', { id: input.runId, conversation_id: input.conversationId }), input.cwd), started_at: now, ended_at: null, exit_code: null, error: null, redaction: encodeRedaction(input.redaction) })
        .where('id', '=', input.runId)
        .where('conversation_id', '=', input.conversationId)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      this.context.rememberRun(input.runId, input.conversationId);
      if (Number(claimed.numUpdatedRows) > 0) {
        return toRun(await trx.selectFrom('runs').selectAll().where('id', '=', input.runId).executeTakeFirstOrThrow(), cipher);
      }
      const row = sealRunColumns(
        {
          id: input.runId,
          conversation_id: input.conversationId,
          sequence: await nextRunSequence(trx, input.conversationId),
          kind: input.kind,
          prompt: input.prompt,
          status: 'running',
          host: input.host,
          cwd: input.cwd,
          started_at: now,
          ended_at: null,
          exit_code: null,
          error: null,
          queued_at: null,
          handoffs: 0,
          redaction: encodeRedaction(input.redaction),
        },
        cipher,
      );
      await trx.insertInto('runs').values(row).execute();
      return toRun(row, cipher);
    });
  }

  async renewLease(runId: string, leaseMs: number): Promise<boolean> {
    const result = await this.context.db
      .updateTable('conversations')
      .set({ lease_expires_at: Date.now() + leaseMs })
      .where('active_run_id', '=', runId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async finish(runId: string, result: FinishRunInput): Promise<Run> {
    const { conversationId, cipher } = await this.context.cipherForRun(runId);
    return this.context.db.transaction().execute(async (trx) => {
      const now = Date.now();
      // The conversation before the run, the order startRun locks them in: a takeover of this run's expired
      // lease racing this finish would otherwise deadlock on PostgreSQL's row locks.
      await trx
        .updateTable('conversations')
        .set({ active_run_id: null, lease_expires_at: null, updated_at: now })
        .where('active_run_id', '=', runId)
        .execute();
      let usage: RunUsage | undefined;
      if (result.usage) {
        // Added to what earlier executions of a handed-back run used.
        const before = await trx.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
        usage = sumUsage([before ? toRun(before, cipher).usage : undefined, result.usage]);
      }
      const error = conversationId === undefined ? (result.error ?? null) : sealRunError(cipher, { id: runId, conversation_id: conversationId }, result.error ?? null);
      await trx
        .updateTable('runs')
        .set({ status: result.status, ended_at: now, exit_code: result.exitCode ?? null, error, error_code: result.errorCode ?? null, ...(usage ? usageColumns(usage) : {}) })
        .where('id', '=', runId)
        .execute();
      const row = await trx.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
      return toRun(row, cipher);
    });
  }

  async get(runId: string): Promise<Run | undefined> {
    const { db } = this.context;
    const row = await db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
    if (!row) return undefined;
    this.context.rememberRun(row.id, row.conversation_id);
    return toRun(row, await this.context.cipherFor(db, row.conversation_id));
  }

  async list(conversationId: string): Promise<Run[]> {
    const { db } = this.context;
    const rows = await db.selectFrom('runs').selectAll().where('conversation_id', '=', conversationId).orderBy('sequence').execute();
    if (rows.length === 0) return [];
    const cipher = await this.context.cipherFor(db, conversationId);
    return rows.map((row) => toRun(row, cipher));
  }
}
