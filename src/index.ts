/** The library: `import { … } from 'baton'` — the store, the harness registry and the runner. */
export { BatonError, isBatonError, type ErrorCode } from './errors.js';
export { loadConfig, resolveStoreLocation, type BatonConfig } from './config.js';
export type { Harness, HarnessEvent, SessionResume, CommandSpec } from './harness/harness.js';
export { HARNESS_IDS, type HarnessId } from './harness/ids.js';
export { getHarness, harnessFromName, listHarnesses } from './harness/registry.js';
export { startConversation, resumeConversation, type RunOptions, type RunResult } from './run/runner.js';
export { forkConversation, rewindConversation, type ForkPoint, type ForkResult, type RewindResult } from './run/fork-conversation.js';
export type { TimedEvent } from './run/events.js';
export { ConversationStatus } from './model/conversation-status.js';
export { RunEvent, type RunEventType, type StreamedRunEvent } from './model/run-event.js';
export { FinishedRunStatus, isFinishedRunStatus, RunKind, RunStatus } from './model/run-status.js';
export type { Store, Conversation, Run, StoredRunEvent, StoredTranscript } from './store/store.js';
export { openSqliteStore } from './store/sqlite.js';
export { openPostgresStore } from './store/postgres.js';
export { generateKeyText, parseKey, readKeyFile, resolveMasterKey, type KeyMaterial } from './store/master-key.js';
export { exportConversation, parseExport } from './store/export-file.js';
export type { Envelope, SessionMeta, TranscriptFile } from './transcript/envelope.js';
export type { TranscriptView, ViewItem } from './transcript/view.js';
