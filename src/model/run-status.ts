/**
 * A run's kind and status, defined once: the store, the HTTP API's schemas, the export file, the CLI and the web
 * UI all take them from here.
 *
 * The lists are plain constants and the schemas are marked pure, so that the web UI can import a list (or
 * isFinishedRunStatus) without the bundler pulling zod into the page; everywhere else the schemas are the API.
 */
import { z } from 'zod';

const RUN_KINDS = ['new', 'resume', 'interactive', 'adopt'] as const;
/**
 * new: a conversation's first run; resume: a follow-up, which resumes the CLI's session; interactive: the CLI's
 * own UI on a person's terminal (`baton open`), where they type the turns; adopt: turns of a session run outside
 * baton, taken in by `baton adopt` (the first) or `baton adopt --sync` (what the local copy gained since); its prompt
 * is the first prompt it brought in, so that its turns are told apart from the next run's like any other run's.
 */
export const RunKind = /* @__PURE__ */ z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof RunKind>;

const FINISHED_RUN_STATUSES = ['succeeded', 'failed', 'interrupted'] as const;
const RUN_STATUSES = ['queued', 'running', ...FINISHED_RUN_STATUSES] as const;
/** queued: waiting for a worker (fleet); running: holds the conversation's lease; the rest are final. */
export const RunStatus = /* @__PURE__ */ z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const FinishedRunStatus = /* @__PURE__ */ z.enum(FINISHED_RUN_STATUSES);
export type FinishedRunStatus = z.infer<typeof FinishedRunStatus>;

/** True once the run has ended, however it ended: it will not change again. */
export function isFinishedRunStatus(status: RunStatus): status is FinishedRunStatus {
  return (FINISHED_RUN_STATUSES as readonly RunStatus[]).includes(status);
}
