/**
 * The one redactor every saved or streamed byte passes through (transcript lines, run events, titles, prompts,
 * errors, workspace manifests): known secret values and credential shapes become `[REDACTED:<name or rule>]`.
 *
 * Transcript lines are redacted one by one and deterministically, so a line redacts the same way in a periodic
 * delta, a full save or a later comparison; a line that was valid JSON stays valid JSON of the CLI's own format
 * (a placeholder holds no quote or backslash, and a secret found inside a JSON string escape is re-encoded as a
 * string), so the CLI resumes the redacted transcript and the model sees the placeholder. Lines without a
 * finding keep every byte. Redacting twice changes nothing.
 */
import { isUtf8 } from 'node:buffer';
import { MIN_SECRET_LENGTH, type KnownSecret } from './known-secrets.js';
import type { Finding } from './finding.js';

/**
 * Which shape rules run, as recorded with each run; secret-shapes.ts derives the same text from the preset it
 * loads (test/redact/redactor.test.ts checks they agree). Spelled out here so that a redactor can be made, and
 * its record stored, without loading secretlint: its rules load in the background as the redactor is made (a
 * `baton run` makes it once the CLI has started) and the first text redacted waits for them.
 */
export const SHAPE_RULES = '@secretlint/secretlint-rule-preset-recommend@12.0.0+jwt+aws-key-id+credential-assignments';

type SecretShapes = typeof import('./secret-shapes.js');
let secretShapes: Promise<SecretShapes> | undefined;
const loadSecretShapes = (): Promise<SecretShapes> => (secretShapes ??= import('./secret-shapes.js'));

/** What redaction ran on a run's saved bytes (stored with the run). */
export type RedactionRecord = { kind: 'off' } | { kind: 'on'; rules: string; variables: string[] };

export function isRedactionRecord(value: unknown): value is RedactionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.kind === 'off') return Object.keys(record).length === 1;
  return (
    record.kind === 'on' &&
    typeof record.rules === 'string' &&
    Array.isArray(record.variables) &&
    record.variables.every((name) => typeof name === 'string')
  );
}

export function encodeRedaction(record: RedactionRecord | undefined): string | null {
  return record === undefined ? null : JSON.stringify(record);
}

const NEWLINE = 0x0a;
/** Transcript bytes are scanned this many at a time (cut at line ends) to bound the size of one string. */
const SLICE_BYTES = 1024 * 1024;

export interface Redactor {
  readonly record: RedactionRecord;
  /** Redacts JSONL (or any line-oriented) bytes line by line; a last line without a newline is redacted too. */
  redactLines(bytes: Buffer): Promise<Buffer>;
  /** Redacts one piece of text (a title, a prompt, an event's message). */
  redactText(text: string): Promise<string>;
  /** Redacts every string inside a JSON-like value (an event's data, a manifest); keys and structure stay. */
  redactData<T>(value: T): Promise<T>;
}

/** For `--no-redact`: stores byte for byte, and says so. */
export const noRedaction: Redactor = {
  record: { kind: 'off' },
  redactLines: async (bytes) => bytes,
  redactText: async (text) => text,
  redactData: async (value) => value,
};

export function createRedactor(secrets: KnownSecret[]): Redactor {
  return new SecretRedactor(secrets);
}

interface Needle {
  text: string;
  label: string;
}

class SecretRedactor implements Redactor {
  readonly record: RedactionRecord;
  /** Each known value in the forms it takes in a transcript (as is, JSON-escaped once and twice), longest first. */
  private readonly needles: Needle[];

  constructor(secrets: KnownSecret[]) {
    const byValue = new Map<string, string>();
    for (const secret of secrets) if (secret.value.length >= MIN_SECRET_LENGTH && !byValue.has(secret.value)) byValue.set(secret.value, secret.name);
    const needles = new Map<string, string>();
    for (const [value, name] of byValue) {
      const once = JSON.stringify(value).slice(1, -1);
      const twice = JSON.stringify(once).slice(1, -1);
      for (const form of [value, once, twice]) if (!needles.has(form)) needles.set(form, `$${name}`);
    }
    this.needles = [...needles].map(([text, label]) => ({ text, label })).sort((a, b) => b.text.length - a.text.length);
    this.record = { kind: 'on', rules: SHAPE_RULES, variables: [...new Set(secrets.map((secret) => secret.name))].sort() };
    // Observed here so that a failed load is not an unhandled rejection; the first find() sees the failure.
    loadSecretShapes().catch(() => undefined);
  }

  async redactLines(bytes: Buffer): Promise<Buffer> {
    if (bytes.length === 0) return bytes;
    const out: Buffer[] = [];
    let changed = false;
    for (let start = 0; start < bytes.length; ) {
      const cut = bytes.length - start > SLICE_BYTES ? bytes.lastIndexOf(NEWLINE, start + SLICE_BYTES - 1) : -1;
      const end = cut >= start ? cut + 1 : bytes.length;
      const slice = bytes.subarray(start, end);
      const redacted = await this.redactSlice(slice);
      if (redacted !== slice) changed = true;
      out.push(redacted);
      start = end;
    }
    return changed ? Buffer.concat(out) : bytes;
  }

  /** One slice of whole lines: scanned at once; only the lines a finding touches are redacted, each on its own. */
  private async redactSlice(slice: Buffer): Promise<Buffer> {
    if (!isUtf8(slice)) return this.redactLinesOneByOne(slice);
    const text = slice.toString('utf8');
    const findings = await this.find(text);
    if (findings.length === 0) return slice;
    const lineStarts = lineStartsOf(text);
    const touched = new Set<number>();
    for (const finding of findings) {
      for (let line = lineIndexAt(lineStarts, finding.start); line < lineStarts.length && lineStarts[line]! < finding.end; line++) touched.add(line);
    }
    let changed = false;
    const lines: string[] = [];
    for (let line = 0; line < lineStarts.length; line++) {
      const from = lineStarts[line]!;
      const to = line + 1 < lineStarts.length ? lineStarts[line + 1]! : text.length;
      const whole = text.slice(from, to);
      if (!touched.has(line)) {
        lines.push(whole);
        continue;
      }
      const body = whole.endsWith('\n') ? whole.slice(0, -1) : whole;
      const redacted = await this.redactLine(body);
      if (redacted !== body) changed = true;
      lines.push(whole.endsWith('\n') ? `${redacted}\n` : redacted);
    }
    return changed ? Buffer.from(lines.join(''), 'utf8') : slice;
  }

  /** Bytes that are not UTF-8 (rare: a CLI wrote binary): each line decoded on its own, as latin1 when not UTF-8. */
  private async redactLinesOneByOne(slice: Buffer): Promise<Buffer> {
    const out: Buffer[] = [];
    let changed = false;
    for (let start = 0; start < slice.length; ) {
      const newline = slice.indexOf(NEWLINE, start);
      const end = newline === -1 ? slice.length : newline;
      const line = slice.subarray(start, end);
      const encoding = isUtf8(line) ? 'utf8' : 'latin1';
      const body = line.toString(encoding);
      const redacted = await this.redactLine(body);
      if (redacted !== body) changed = true;
      out.push(redacted === body ? line : Buffer.from(redacted, encoding));
      if (newline !== -1) out.push(slice.subarray(newline, newline + 1));
      start = end + 1;
    }
    return changed ? Buffer.concat(out) : slice;
  }

  /**
   * One line: its findings replaced. A line that was JSON and would not be any more (a secret inside a string's
   * escape sequence) is redacted string by string instead: each JSON string decoded, redacted and re-encoded.
   */
  private async redactLine(line: string): Promise<string> {
    const redacted = replaceFindings(line, await this.find(line));
    if (redacted === line || !isJson(line) || isJson(redacted)) return redacted;
    let out = '';
    let last = 0;
    for (const match of line.matchAll(JSON_STRING)) {
      const token = match[0];
      const decoded = JSON.parse(token) as string;
      const clean = replaceFindings(decoded, await this.find(decoded));
      out += line.slice(last, match.index) + (clean === decoded ? token : JSON.stringify(clean));
      last = match.index + token.length;
    }
    return out + line.slice(last);
  }

  async redactText(text: string): Promise<string> {
    if (text.length === 0) return text;
    return replaceFindings(text, await this.find(text));
  }

  async redactData<T>(value: T): Promise<T> {
    if (typeof value === 'string') return (await this.redactText(value)) as T;
    if (Array.isArray(value)) return (await Promise.all(value.map((item: unknown) => this.redactData(item)))) as T;
    if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
      const entries = await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await this.redactData(item)] as const));
      return Object.fromEntries(entries) as T;
    }
    return value;
  }

  /** Every finding in a text, overlapping ones merged; ranges index `text` itself. */
  private async find(text: string): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const needle of this.needles) {
      for (let at = text.indexOf(needle.text); at !== -1; at = text.indexOf(needle.text, at + needle.text.length)) {
        findings.push({ start: at, end: at + needle.text.length, label: needle.label });
      }
    }
    findings.push(...(await (await loadSecretShapes()).findSecretShapes(detectionView(text), text)));
    return mergeOverlapping(findings);
  }
}

/**
 * The text the shape rules read: JSON escape sequences (`\n`, `\"`, `\\n` inside a string inside a string, …)
 * blanked to spaces of the same length, so a key printed after a `\n` escape still starts at a word boundary and
 * every range maps one to one onto the text itself.
 */
function detectionView(text: string): string {
  // A run of backslashes and the letter the last one escapes: the letter and its backslash first, then every other
  // backslash (two constant replacements; a replacement callback per escape cost more than a tenth of redaction).
  return text.includes('\\') ? text.replace(ESCAPED_LETTER, '  ').replace(BACKSLASH, ' ') : text;
}

const ESCAPED_LETTER = /\\[nrtbf"/]/g;
const BACKSLASH = /\\/g;

// A JSON string token: in a line that is JSON, quotes only ever open and close strings.
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function mergeOverlapping(findings: Finding[]): Finding[] {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Finding[] = [];
  for (const finding of findings) {
    const last = merged.at(-1);
    if (last && finding.start < last.end) last.end = Math.max(last.end, finding.end);
    else merged.push({ ...finding });
  }
  return merged;
}

function replaceFindings(text: string, findings: Finding[]): string {
  if (findings.length === 0) return text;
  let out = '';
  let last = 0;
  for (const finding of findings) {
    out += text.slice(last, finding.start) + placeholder(finding.label);
    last = finding.end;
  }
  return out + text.slice(last);
}

/** `[REDACTED:<label>]`, with nothing in the label that JSON or a terminal would treat specially. */
export function placeholder(label: string): string {
  return `[REDACTED:${label.replace(/[^A-Za-z0-9_.:@$/-]/g, '_')}]`;
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let at = text.indexOf('\n'); at !== -1 && at + 1 < text.length; at = text.indexOf('\n', at + 1)) starts.push(at + 1);
  return starts;
}

function lineIndexAt(starts: number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}
