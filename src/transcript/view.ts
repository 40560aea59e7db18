/**
 * One turn model for display, the same for every harness: `baton show` renders it as text, the web UI as a
 * chat. Each harness turns its native lines into these items; lines it cannot parse are counted, not hidden.
 */
import { structuredPatch } from 'diff';

export type ViewItem =
  | { kind: 'user'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'command'; callId: string | undefined; command: string; output: string | undefined; exitCode: number | undefined }
  | { kind: 'tool'; callId: string | undefined; name: string; input: string; output: string | undefined }
  /** A change to files the agent made with an edit tool: `diff` is unified-diff-like text (+, -, space, @@). */
  | { kind: 'edit'; callId: string | undefined; paths: string[]; diff: string; output: string | undefined };

export interface TranscriptView {
  items: ViewItem[];
  /** Lines that were not JSON (kept in the stored bytes, shown as a count). */
  unparsedLines: number;
}

/** Attaches a tool's output to the call with the same id, or keeps it as its own item when there is none. */
export function attachOutput(items: ViewItem[], callId: string | undefined, output: string, exitCode?: number): void {
  for (let index = items.length - 1; index >= 0; index--) {
    const item = items[index]!;
    if ((item.kind === 'command' || item.kind === 'tool' || item.kind === 'edit') && item.callId === callId && item.output === undefined) {
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
    case 'edit':
      return `✎ ${item.paths.join(', ')}\n${indent(clip(item.diff), '    ')}`;
  }
}

/** A unified diff of one file's text before and after (`@@` hunks with three lines of context). */
export function textEdit(callId: string | undefined, path: string, before: string, after: string): Extract<ViewItem, { kind: 'edit' }> {
  const patch = structuredPatch(path, path, before, after, '', '', { context: 3 });
  // An empty range starts at the line before it, as in diff -u.
  const start = (line: number, count: number): number => (count === 0 ? line - 1 : line);
  const diff = patch.hunks.flatMap((hunk) => [`@@ -${start(hunk.oldStart, hunk.oldLines)},${hunk.oldLines} +${start(hunk.newStart, hunk.newLines)},${hunk.newLines} @@`, ...hunk.lines]);
  return { kind: 'edit', callId, paths: [path], diff: [`@@@ ${path}`, ...diff].join('\n'), output: undefined };
}

/** The items split into turns, each starting at a user prompt (items before the first prompt form a turn of their own). */
export function splitTurns(items: readonly ViewItem[]): ViewItem[][] {
  const turns: ViewItem[][] = [];
  for (const item of items) {
    if (item.kind === 'user' || turns.length === 0) turns.push([]);
    turns[turns.length - 1]!.push(item);
  }
  return turns;
}

/** How far ahead a turn's prompt is looked for among the runs (runs that saved nothing are skipped). */
const RUN_LOOKAHEAD = 64;

/**
 * Which turns each run produced, by matching each turn's prompt with the runs' prompts in order. A run may have
 * no turn (it failed before the CLI saved anything, or it is active and not saved yet, or queued) or several (a
 * run handed over to another worker continues with a prompt that ends with the original one). Turns before any
 * matched run, e.g. of an imported history, are returned as `unclaimed`. An interactive run (`baton open`) has no
 * prompt of its own, as a person typed its turns: it takes the turns that follow, up to the next run's prompt.
 */
export function turnsOfRuns(runs: ReadonlyArray<{ prompt: string; kind?: string }>, turns: ReadonlyArray<readonly ViewItem[]>): { turnsOfRun: number[][]; unclaimed: number[] } {
  const turnsOfRun: number[][] = runs.map(() => []);
  const unclaimed: number[] = [];
  let current = -1;
  turns.forEach((turn, index) => {
    const first = turn[0];
    const text = first?.kind === 'user' ? first.text.trim() : undefined;
    let match = -1;
    if (text !== undefined) {
      // A later run first (the same prompt may be sent twice); no match: the turn continues the current run.
      const matches = (run: { prompt: string }): boolean => {
        const prompt = run.prompt.trim();
        return text === prompt || (prompt !== '' && text.endsWith(prompt));
      };
      for (let candidate = current + 1; candidate < Math.min(runs.length, current + 1 + RUN_LOOKAHEAD); candidate++) {
        const run = runs[candidate]!;
        if (run.kind === 'interactive') {
          // Unless the turn is the prompt of the next headless run (this interactive run saved no turn), it is this run's.
          const next = runs.slice(candidate + 1).find((later) => later.kind !== 'interactive');
          if (next && matches(next)) continue;
          match = candidate;
          break;
        }
        if (matches(run)) {
          match = candidate;
          break;
        }
      }
    }
    if (match >= 0) current = match;
    if (current >= 0) turnsOfRun[current]!.push(index);
    else unclaimed.push(index);
  });
  return { turnsOfRun, unclaimed };
}
