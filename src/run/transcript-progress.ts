/**
 * An interactive run's progress, read from its transcript: the CLI's UI owns the terminal and prints no events,
 * so after each save the session's readable view (the harness's own reader, as `baton show` uses it) is compared
 * with what was reported, and what is new becomes run events — the turns typed, the replies, the commands and
 * the file edits — for live followers (the web UI, a server's SSE) and the run's record.
 */
import { readFile } from 'node:fs/promises';
import type { Harness, HarnessEvent, TranscriptLocation } from '../harness/harness.js';
import { transcriptFile } from '../transcript/envelope.js';
import type { ViewItem } from '../transcript/view.js';

export class TranscriptProgress {
  /** Items already reported, by index into the view; a command reported as started waits for its output. */
  private reported = 0;
  private awaitingOutput = new Set<number>();

  /** `known`: the view's length when the run started (those items belong to earlier runs). */
  private constructor(private readonly harness: Harness, known: number) {
    this.reported = known;
  }

  /** Starts after the items the session already holds. */
  static async after(harness: Harness, location: TranscriptLocation | undefined): Promise<TranscriptProgress> {
    const items = location ? await viewItems(harness, location) : [];
    return new TranscriptProgress(harness, items.length);
  }

  /** The events for what the session gained since the last call. */
  async newEvents(location: TranscriptLocation): Promise<HarnessEvent[]> {
    const items = await viewItems(this.harness, location);
    const events: HarnessEvent[] = [];
    for (const index of [...this.awaitingOutput].sort((a, b) => a - b)) {
      const item = items[index];
      if (item?.kind === 'command' && item.output !== undefined) {
        events.push(commandCompleted(item, item.output));
        this.awaitingOutput.delete(index);
      }
    }
    for (let index = this.reported; index < items.length; index++) {
      const item = items[index]!;
      if (item.kind === 'command' && item.output === undefined) this.awaitingOutput.add(index);
      events.push(...eventsOf(item));
    }
    this.reported = Math.max(this.reported, items.length);
    return events;
  }
}

function eventsOf(item: ViewItem): HarnessEvent[] {
  switch (item.kind) {
    case 'user':
      return [{ type: 'prompt', text: item.text }];
    case 'assistant':
      return [{ type: 'message', text: item.text }];
    case 'command':
      return [item.output === undefined ? { type: 'command.started', command: item.command } : commandCompleted(item, item.output)];
    case 'edit':
      return item.paths.length > 0 ? [{ type: 'file.changed', paths: item.paths }] : [];
    case 'tool':
      return [];
  }
}

function commandCompleted(item: Extract<ViewItem, { kind: 'command' }>, output: string): HarnessEvent {
  return { type: 'command.completed', command: item.command, output, ...(item.exitCode === undefined ? {} : { exitCode: item.exitCode }) };
}

async function viewItems(harness: Harness, location: TranscriptLocation): Promise<ViewItem[]> {
  const files = await Promise.all(location.files.map(async (file) => transcriptFile(file.key, await readFile(file.path).catch(() => Buffer.alloc(0)))));
  return harness.viewTranscript(files).items;
}
