/**
 * A conversation's status at a glance, the same in `baton ls`, the HTTP API and the web UI (it is derived from
 * the conversation's runs by src/store/conversation-status.ts).
 *
 * The list is a plain constant and the schema is marked pure, so that the web UI can import the list without the
 * bundler pulling zod into the page.
 */
import { z } from 'zod';

/**
 * idle: ready for a follow-up; queued: a run waits for a worker; running: a run holds the lease;
 * failed / interrupted: how the last run ended (a follow-up resumes from the last save);
 * stale: a run's process died and its lease expired, not yet taken over.
 */
export const CONVERSATION_STATUSES = ['idle', 'queued', 'running', 'failed', 'interrupted', 'stale'] as const;
export const ConversationStatus = /* @__PURE__ */ z.enum(CONVERSATION_STATUSES);
export type ConversationStatus = z.infer<typeof ConversationStatus>;
