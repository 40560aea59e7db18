/** Helpers for bench/workspace.ts: shell commands, timing, medians, git trace2 breakdowns. */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** A full GC before a timed step, so it does not pay for the previous step's garbage. */
export function settle(): void {
  collect();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a bash script (the "by hand" side), failing on a non-zero exit. */
export function sh(script: string, options: { cwd?: string; env?: Record<string, string>; allowFail?: boolean } = {}): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -e\n${script}`], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0 && !options.allowFail) reject(new Error(`command failed (${code}): ${script.slice(0, 200)}\n${stderr}`));
      else resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export async function timed<T>(action: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  settle();
  const start = performance.now();
  const value = await action();
  return { ms: performance.now() - start, value };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Samples {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarise(samples: number[]): Samples {
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { median: r(median(samples)), min: r(Math.min(...samples)), max: r(Math.max(...samples)), samples: samples.map(r) };
}

export const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
export const kb = (bytes: number): string => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`);
export const times = (ratio: number): string => `${ratio.toFixed(2)}×`;

// ---------------------------------------------------------------------------------------------------------
// git trace2: how long each git process ran (from its own clock), to split a baton call into git work and the
// rest (process spawn, Node-side work).

export interface GitProcess {
  sid: string;
  depth: number;
  argv: string[];
  ms: number;
}

/** Runs `action` with GIT_TRACE2_EVENT pointing at a file (git() copies process.env at each spawn). */
export async function traced<T>(file: string, action: () => Promise<T>): Promise<{ wallMs: number; processes: GitProcess[]; value: T }> {
  await rm(file, { force: true });
  const previous = process.env.GIT_TRACE2_EVENT;
  process.env.GIT_TRACE2_EVENT = file;
  let result: { ms: number; value: T };
  try {
    result = await timed(action);
  } finally {
    if (previous === undefined) delete process.env.GIT_TRACE2_EVENT;
    else process.env.GIT_TRACE2_EVENT = previous;
  }
  const processes = new Map<string, GitProcess>();
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as { event: string; sid: string; argv?: string[]; t_abs?: number };
    let entry = processes.get(event.sid);
    if (!entry) {
      entry = { sid: event.sid, depth: event.sid.split('/').length - 1, argv: [], ms: 0 };
      processes.set(event.sid, entry);
    }
    if (event.event === 'start' && event.argv) entry.argv = event.argv;
    if ((event.event === 'exit' || event.event === 'atexit') && event.t_abs !== undefined) entry.ms = Math.max(entry.ms, event.t_abs * 1000);
  }
  await rm(file, { force: true });
  return { wallMs: result.ms, processes: [...processes.values()], value: result.value };
}

/** A short label for a git process: `git add -A`, `git bundle create`, `git pack-objects` … */
export function label(argv: string[]): string {
  const args = argv.slice(1).filter((arg, i, all) => arg !== '-c' && all[i - 1] !== '-c' && !arg.startsWith('/') && !arg.startsWith('+') && !arg.startsWith(':('));
  const command = args[0] ?? '?';
  const second = args.slice(1).find((arg) => arg.startsWith('-') || ['create', 'HEAD'].includes(arg));
  const keep = new Set(['--cached', '--binary', '--name-only', '--others', '--show-toplevel', '--verify', '--git-path', '-A', '--no-checkout', '--stdout', '-B', 'create', '--revs', '--count']);
  const flags = args.slice(1).filter((arg) => keep.has(arg));
  return `${command}${flags.length ? ' ' + flags.join(' ') : second ? ' ' + second : ''}`;
}

/** Top-level git processes grouped by label: "add -A 120 ms, bundle create 310 ms (2×) …". */
export function breakdown(processes: GitProcess[]): { topLevelMs: number; count: number; parts: Array<{ label: string; ms: number; count: number }>; children: Array<{ label: string; ms: number }> } {
  const top = processes.filter((p) => p.depth === 0);
  const groups = new Map<string, { label: string; ms: number; count: number }>();
  for (const process_ of top) {
    const key = label(process_.argv);
    const group = groups.get(key) ?? { label: key, ms: 0, count: 0 };
    group.ms += process_.ms;
    group.count++;
    groups.set(key, group);
  }
  const children = processes.filter((p) => p.depth > 0).map((p) => ({ label: label(p.argv), ms: Math.round(p.ms * 10) / 10 }));
  return {
    topLevelMs: top.reduce((sum, p) => sum + p.ms, 0),
    count: top.length,
    parts: [...groups.values()].sort((a, b) => b.ms - a.ms).map((g) => ({ ...g, ms: Math.round(g.ms * 10) / 10 })),
    children,
  };
}

export function formatBreakdown(b: ReturnType<typeof breakdown>, limit = 6): string {
  return b.parts
    .slice(0, limit)
    .map((part) => `${part.label} ${ms(part.ms)}${part.count > 1 ? ` (${part.count}×)` : ''}`)
    .join(', ');
}
