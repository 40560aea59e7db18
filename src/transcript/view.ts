/**
 * One turn model for display, the same for every harness: `baton show` renders it as text, the web UI as a
 * chat. Each harness turns its native lines into these items; lines it cannot parse are counted, not hidden.
 */
export type ViewItem =
  | { kind: 'user'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'command'; callId: string | undefined; command: string; output: string | undefined; exitCode: number | undefined }
  | { kind: 'tool'; callId: string | undefined; name: string; input: string; output: string | undefined };

export interface TranscriptView {
  items: ViewItem[];
  /** Lines that were not JSON (kept in the stored bytes, shown as a count). */
  unparsedLines: number;
}

/** Attaches a tool's output to the call with the same id, or keeps it as its own item when there is none. */
export function attachOutput(items: ViewItem[], callId: string | undefined, output: string, exitCode?: number): void {
  for (let index = items.length - 1; index >= 0; index--) {
    const item = items[index]!;
    if ((item.kind === 'command' || item.kind === 'tool') && item.callId === callId && item.output === undefined) {
      item.output = output;
      if (item.kind === 'command' && exitCode !== undefined) item.exitCode = exitCode;
      return;
    }
  }
  items.push({ kind: 'tool', callId, name: 'output', input: '', output });
}

const MAX_OUTPUT_LINES = 20;

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

function clip(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length <= MAX_OUTPUT_LINES) return lines.join('\n');
  return [...lines.slice(0, MAX_OUTPUT_LINES), `… (${lines.length - MAX_OUTPUT_LINES} more lines)`].join('\n');
}

/** Plain-text rendering for terminals. */
export function renderItem(item: ViewItem): string {
  switch (item.kind) {
    case 'user':
      return `> ${item.text.split('\n').join('\n> ')}`;
    case 'assistant':
      return item.text;
    case 'command': {
      const status = item.exitCode === undefined ? '' : item.exitCode === 0 ? '' : ` (exit ${item.exitCode})`;
      const output = item.output === undefined ? '    (no output recorded)' : indent(clip(item.output), '    ');
      return `$ ${item.command}${status}\n${output}`;
    }
    case 'tool': {
      const output = item.output === undefined ? '' : `\n${indent(clip(item.output), '    ')}`;
      return `⚙ ${item.name}${item.input ? ` ${clip(item.input)}` : ''}${output}`;
    }
  }
}
