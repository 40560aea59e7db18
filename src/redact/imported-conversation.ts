/**
 * An export file is someone else's store: it may have been written with `--no-redact`, or by a baton before
 * redaction. Everything it brings passes the same redactor (credential shapes: this machine knows none of the
 * exporter's variables) before it reaches this store; transcript files are re-measured after.
 */
import type { ImportedConversation } from '../store/store.js';
import { transcriptFile } from '../transcript/envelope.js';
import type { Redactor } from './redactor.js';
import { redactManifest } from './workspace-manifest.js';

export async function redactImported(imported: ImportedConversation, redactor: Redactor): Promise<ImportedConversation> {
  const { conversation, workspace } = imported;
  const systemPrompt = conversation.options?.systemPrompt;
  return {
    ...imported,
    conversation: {
      ...conversation,
      title: await redactor.redactText(conversation.title),
      ...(conversation.options ? { options: { ...conversation.options, systemPrompt: systemPrompt === undefined ? undefined : await redactor.redactText(systemPrompt) } } : {}),
    },
    runs: await Promise.all(imported.runs.map(async (run) => ({ ...run, prompt: await redactor.redactText(run.prompt), error: run.error === undefined ? undefined : await redactor.redactText(run.error) }))),
    events: await Promise.all(imported.events.map(async (event) => ({ ...event, data: await redactor.redactData(event.data) }))),
    files: await Promise.all(imported.files.map(async (file) => {
      const content = await redactor.redactLines(file.content);
      return content === file.content ? file : transcriptFile(file.key, content);
    })),
    workspace: workspace && { ...workspace, snapshot: { ...workspace.snapshot, manifest: await redactManifest(workspace.snapshot.manifest, redactor) } },
  };
}
