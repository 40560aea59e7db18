/**
 * What one tool call of an agent did, in no CLI's format: a shell command, a file read, an edit or a search,
 * drawn from the seeded text sources of bench/lib/synth.ts (real code, generated logs, the prose chain). The
 * Claude, Gemini and OpenCode synthesisers each record it the way their CLI does.
 */
import { join } from 'node:path';
import type { CorpusFile, RolloutSynth } from './synth.js';

export interface GrepHit {
  /** Absolute path. */
  path: string;
  /** 1-based. */
  line: number;
  text: string;
}

export type ToolActivity =
  | { kind: 'shell'; command: string; description: string; output: string; exitCode: number }
  | { kind: 'read'; filePath: string; file: CorpusFile; start: number; limit: number; lines: string[]; whole: boolean }
  | { kind: 'edit'; filePath: string; file: CorpusFile; at: number; oldLines: string[]; newLines: string[]; contextStart: number }
  | { kind: 'grep'; pattern: string; hits: GrepHit[] };

/** Shell 45%, read 30%, edit 15%, search 10%. `cwd` is the session's project folder (absolute paths). */
export function toolActivity(t: RolloutSynth, cwd: string): ToolActivity {
  const roll = t.random();
  if (roll < 0.45) {
    const { cmd, output, exitCode } = t.command();
    return { kind: 'shell', command: cmd, output: output.replace(/\n$/, ''), exitCode, description: t.sentence().slice(0, 60) };
  }
  const file = t.sourceFile();
  const filePath = join(cwd, file.path);
  if (roll < 0.75) {
    const limit = t.random() < 0.5 ? Math.min(file.lines.length, 2000) : t.int(20, 400);
    const start = limit >= file.lines.length ? 0 : t.int(0, file.lines.length - limit);
    return { kind: 'read', filePath, file, start, limit, lines: file.lines.slice(start, start + limit), whole: start === 0 && limit >= file.lines.length };
  }
  if (roll < 0.9) {
    const at = t.int(0, Math.max(0, file.lines.length - 8));
    const oldLines = file.lines.slice(at, at + t.int(1, 8));
    const newLines = oldLines.map((line) => (t.random() < 0.5 ? line.replace(/[A-Za-z_]\w{3,}/, t.identifier()) : line));
    if (t.random() < 0.4) newLines.push(`  // ${t.sentence()}`);
    return { kind: 'edit', filePath, file, at, oldLines, newLines, contextStart: Math.max(0, at - 4) };
  }
  const pattern = t.identifier();
  const hits = Array.from({ length: t.int(1, 60) }, () => {
    const hit = t.pick([file, t.sourceFile(), t.sourceFile()]);
    const index = t.int(0, hit.lines.length - 1);
    return { path: join(cwd, hit.path), line: index + 1, text: hit.lines[index]! };
  });
  return { kind: 'grep', pattern, hits };
}

/** The edited stretch with up to 4 lines of context either side, as the file reads after the edit. */
export function editSnippet(edit: Extract<ToolActivity, { kind: 'edit' }>): string[] {
  const { file, at, oldLines, newLines, contextStart } = edit;
  return [...file.lines.slice(contextStart, at), ...newLines, ...file.lines.slice(at + oldLines.length, at + oldLines.length + 4)];
}

/** Lines numbered as `cat -n` prints them, from `first` (1-based). */
export function numbered(lines: string[], first: number): string {
  return lines.map((line, index) => `${String(first + index).padStart(6)}\t${line}`).join('\n');
}
