/** `baton ls`, `baton show`, `baton export`, `baton import`. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BatonError, errorMessage } from '../errors.js';
import { writePrivateFileAtomic } from '../fs/private-files.js';
import { getHarness } from '../harness/registry.js';
import { HARNESS_IDS } from '../harness/ids.js';
import { conversationStatus } from '../store/conversation-status.js';
import { sumUsage, type AdoptionOrigin, type Conversation, type ForkOrigin, type Run, type RunUsage, type Store, type Trust } from '../store/store.js';
import { renderItem, splitTurns, turnsOfRuns, type TranscriptView, type ViewItem } from '../transcript/view.js';
import type { WorkspaceManifest } from '../workspace/workspace.js';
import { withStore, type GlobalOptions } from './context.js';
import { RemoteClient, remoteTarget, type RemoteRun } from './remote.js';
import { terminalJson, terminalJsonText, terminalLine, terminalText } from './terminal-text.js';

interface RemoteConversation {
  id: string;
  harness: string;
  sessionId: string | null;
  forkedFrom: ForkOrigin | null;
  adoptedFrom?: (Omit<AdoptionOrigin, 'adoptedAt'> & { adoptedAt: string }) | null;
  runs: RemoteRun[];
}

/** "adopted from codex session … on laptop": where an adopted conversation's session was started. */
export function adoptedFromText(origin: Pick<AdoptionOrigin, 'harness' | 'sessionId' | 'host'>): string {
  return `adopted from ${terminalLine(origin.harness)} session ${terminalLine(origin.sessionId)} on ${terminalLine(origin.host)}`;
}

/** `fork of c_… at turn 2` (or without a turn: a fork that keeps a run's lost work). */
export function forkedFromText(origin: Pick<ForkOrigin, 'conversationId' | 'turn'>): string {
  const turn = typeof origin.turn === 'number' && Number.isSafeInteger(origin.turn) ? ` at turn ${origin.turn}` : '';
  return `fork of ${terminalLine(origin.conversationId)}${turn}`;
}

/** A stored time for a terminal; a value that is not a date (a damaged or hostile row) shows as such, never fails. */
const time = (ms: number | undefined): string => {
  if (ms === undefined) return '-';
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date.toISOString().replace('T', ' ').slice(0, 19) : '(bad time)';
};

/** One `baton ls` row. Every field is stored (or a server's) text, so none may break out of its row. */
export function listRow(row: {
  id: string;
  harness: string;
  status: string;
  runs: number;
  updatedAt: number | undefined;
  title: string;
  adoptedFrom?: Pick<AdoptionOrigin, 'harness' | 'sessionId' | 'host'> | null | undefined;
  forkedFrom?: Pick<ForkOrigin, 'conversationId' | 'turn'> | null | undefined;
}): string {
  const runs = `${String(row.runs).padStart(3)} run${row.runs === 1 ? ' ' : 's'}`;
  const lineage = [row.forkedFrom ? forkedFromText(row.forkedFrom) : '', row.adoptedFrom ? adoptedFromText(row.adoptedFrom) : ''].filter((part) => part !== '');
  const origin = lineage.length > 0 ? `  (${lineage.join('; ')})` : '';
  return `${terminalLine(row.id)}  ${terminalLine(row.harness).padEnd(6)}  ${terminalLine(row.status).padEnd(11)}  ${terminalLine(runs)}  ${time(row.updatedAt)}  ${terminalLine(row.title)}${origin}\n`;
}

async function requireConversation(store: Store, id: string): Promise<Conversation> {
  const conversation = await store.getConversation(id);
  if (!conversation) {
    throw new BatonError('CONVERSATION_NOT_FOUND', `no conversation ${id} in ${store.location}`, {
      hint: 'list conversations with `baton ls`, or point at the right store with --store or BATON_STORE',
    });
  }
  return conversation;
}

export function registerInspectCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ls')
    .description('list conversations, most recent first')
    .option('--json', 'print JSON')
    .option('--server <url>', 'list the conversations on a baton server (default $BATON_SERVER; token from $BATON_TOKEN)')
    .action(async (options: { json?: boolean; server?: string }) => {
      const remote = remoteTarget(options.server);
      if (remote) {
        const { conversations } = await new RemoteClient(remote).request<{ conversations: Array<{ id: string; harness: string; status: string; runs: number; updatedAt: string; title: string; adoptedFrom?: AdoptionOrigin | null; forkedFrom?: ForkOrigin | null }> }>('GET', '/v1/conversations');
        if (options.json) process.stdout.write(`${terminalJson(conversations)}\n`);
        else if (conversations.length === 0) process.stderr.write(`no conversations on ${remote.url}; start one with \`baton run --server ${remote.url} --harness ${HARNESS_IDS[0]} "…"\`\n`);
        else for (const row of conversations) process.stdout.write(listRow({ ...row, updatedAt: Date.parse(row.updatedAt) }));
        return;
      }
      await withStore(globals(), async ({ store }) => {
        const rows = (await store.listConversationSummaries()).map(({ conversation, runs }) => ({ conversation, runs, status: conversationStatus(conversation, runs) }));
        if (options.json) {
          process.stdout.write(`${terminalJson(rows.map(({ conversation, runs, status }) => ({ ...conversation, status, runs: runs.count })))}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stderr.write(`no conversations in ${store.location}; start one with \`baton run --harness ${HARNESS_IDS[0]} "…"\`\n`);
          return;
        }
        for (const { conversation, runs, status } of rows) {
          process.stdout.write(listRow({ ...conversation, status, runs: runs.count }));
        }
      });
    });

  program
    .command('show')
    .description('show a conversation as a readable chat, run by run')
    .argument('<conversation-id>')
    .option('--json', 'print the conversation, its runs and the transcript view as JSON')
    .option('--server <url>', 'show a conversation on a baton server (default $BATON_SERVER; token from $BATON_TOKEN)')
    .action(async (id: string, options: { json?: boolean; server?: string }) => {
      const remote = remoteTarget(options.server);
      if (remote) {
        const client = new RemoteClient(remote);
        const path = `/v1/conversations/${encodeURIComponent(id)}`;
        const [conversation, transcript] = await Promise.all([client.request<RemoteConversation>('GET', path), client.request<TranscriptView>('GET', `${path}/transcript`)]);
        if (options.json) {
          process.stdout.write(`${terminalJson({ conversation, runs: conversation.runs, transcript })}\n`);
          return;
        }
        const runs = conversation.runs.map((run) => ({ ...run, host: run.host ?? '', cwd: '', startedAt: run.startedAt ? Date.parse(run.startedAt) : 0, exitCode: run.exitCode ?? undefined, error: run.error ?? undefined, usage: run.usage ?? undefined }));
        process.stdout.write(formatConversation({ conversation: { ...conversation, sessionId: conversation.sessionId ?? undefined, forkedFrom: conversation.forkedFrom ?? undefined, adoptedFrom: conversation.adoptedFrom ?? undefined }, runs, view: transcript }));
        return;
      }
      await withStore(globals(), async ({ store }) => {
        if (options.json) {
          const conversation = await requireConversation(store, id);
          const runs = await store.listRuns(id);
          const transcript = await store.loadTranscript(id);
          const view = getHarness(conversation.harness).viewTranscript(transcript?.files ?? []);
          process.stdout.write(`${terminalJson({ conversation, runs, usage: sumUsage(runs.map((run) => run.usage)) ?? null, transcript: view })}\n`);
          return;
        }
        process.stdout.write(await renderConversation(store, id));
      });
    });

  program
    .command('workspace')
    .description('write the saved workspace of a conversation (its newest, or the one saved by run --at) into a directory')
    .argument('<conversation-id>')
    .requiredOption('-o, --output <dir>', 'an empty or missing directory to write the files into')
    .option('--at <run>', 'a run id, or its number in `baton show` (1, 2 …)')
    .action(async (id: string, options: { output: string; at?: string }) => {
      await withStore(globals(), async ({ store }) => {
        await requireConversation(store, id);
        let runId: string | undefined;
        if (options.at !== undefined) {
          const runs = await store.listRuns(id);
          const run = runs.find((candidate) => candidate.id === options.at || String(candidate.sequence) === options.at);
          if (!run) throw new BatonError('USAGE', `conversation ${id} has no run "${options.at}"`, { hint: `runs are ${runs.map((candidate) => candidate.sequence).join(', ')} (see \`baton show ${id}\`)` });
          runId = run.id;
        }
        const snapshot = await store.loadWorkspaceSnapshot(id, runId);
        if (!snapshot) {
          throw new BatonError('USAGE', `no workspace was saved for conversation ${id}${runId ? ` during run ${options.at}` : ''}`, {
            hint: 'workspaces are saved with every transcript save unless the run used --no-workspace',
          });
        }
        if (snapshot.manifest.kind === 'too-large') {
          throw new BatonError('WORKSPACE_ERROR', `the workspace was too large to save (${snapshot.manifest.bytes} bytes > ${snapshot.manifest.limitBytes})`, {
            hint: 'raise --max-workspace-mb for later runs, or add large paths to .batonignore / .gitignore',
          });
        }
        const { restoreWorkspace } = await import('../workspace/tracker.js');
        const output = resolve(options.output);
        await restoreWorkspace(snapshot, output, 'restore', { maxBytes: Number.MAX_SAFE_INTEGER, includeSecrets: false });
        process.stderr.write(`wrote the ${snapshot.manifest.kind} workspace saved at ${time(snapshot.createdAt)} into ${output}\n`);
      });
    });

  program
    .command('export')
    .description('write a conversation (runs and transcript, byte for byte) to one file; plaintext unless --encrypt')
    .argument('<conversation-id>')
    .option('-o, --output <file>', 'the file to write (default: stdout)')
    .option('--encrypt', 'encrypt the file (AES-256-GCM) with --passphrase-file or --key-file')
    .option('--passphrase-file <file>', 'with --encrypt: a file (mode 0600) holding the passphrase (scrypt)')
    .option('--key-file <file>', 'with --encrypt: a file (mode 0600) holding a key from `baton keys generate`')
    .action(async (id: string, options: { output?: string; encrypt?: boolean; passphraseFile?: string; keyFile?: string }) => {
      const { readExportSecret, encryptExport, forgetExportSecret } = await import('../store/export-encryption.js');
      if (!options.encrypt && (options.passphraseFile || options.keyFile)) {
        throw new BatonError('USAGE', '--passphrase-file and --key-file go with --encrypt', { hint: 'add --encrypt, or leave them out for a plaintext export' });
      }
      const secret = options.encrypt ? await readExportSecret(options) : undefined;
      if (options.encrypt && !secret) throw new BatonError('USAGE', '--encrypt needs --passphrase-file FILE or --key-file FILE', { hint: 'make a key file with `baton keys generate --output FILE`' });
      try {
        await withStore(globals(), async ({ store }) => {
          const { exportConversation } = await import('../store/export-file.js');
          const plain = await exportConversation(store, id);
          const text = secret ? await encryptExport(plain, secret) : plain;
          if (options.output) {
            await writePrivateFileAtomic(options.output, text);
            process.stderr.write(`exported ${id} to ${options.output}${secret ? ' (encrypted)' : ''}\n`);
          } else process.stdout.write(secret ? text : terminalJsonText(text));
        });
      } finally {
        forgetExportSecret(secret);
      }
    });

  program
    .command('import')
    .description('add a conversation from an export file to the store (untrusted until --trust: see the README)')
    .argument('<file>', 'a file written by `baton export`')
    .option('--trust', 'trust it now: its workspace restores whole, with the files that make a CLI run commands')
    .option('--as-new', 'import it under a fresh conversation id (and fresh run ids), e.g. a second copy in the same store')
    .option('--no-redact', 'store what the file holds byte for byte (default: credentials in it are redacted first)')
    .option('--passphrase-file <file>', 'the passphrase of an encrypted export (a file, mode 0600)')
    .option('--key-file <file>', 'the key file of an encrypted export')
    .action(async (file: string, options: { trust?: boolean; asNew?: boolean; passphraseFile?: string; keyFile?: string; redact: boolean }) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new BatonError('IMPORT_INVALID', `cannot read ${file}: ${errorMessage(error)}`, { hint: 'pass the path of a file written by `baton export`' });
      }
      const { isEncryptedExport, decryptExport, readExportSecret, forgetExportSecret } = await import('../store/export-encryption.js');
      if (isEncryptedExport(text)) {
        const secret = await readExportSecret(options);
        try {
          text = await decryptExport(text, secret, file);
        } finally {
          forgetExportSecret(secret);
        }
      }
      const { parseExport, withFreshIds } = await import('../store/export-file.js');
      const parsed = parseExport(text, file);
      const { createRedactor } = await import('../redact/redactor.js');
      const { redactImported } = await import('../redact/imported-conversation.js');
      const fresh = options.asNew ? withFreshIds(parsed) : parsed;
      const imported = options.redact === false ? fresh : await redactImported(fresh, createRedactor([]));
      imported.conversation.trust = options.trust ? 'trusted' : 'untrusted';
      await withStore(globals(), async ({ store }) => {
        await store.importConversation(imported);
        const id = imported.conversation.id;
        if (options.asNew) process.stderr.write(`imported ${parsed.conversation.id} as ${id}\n`);
        if (!options.trust && imported.workspace) {
          const { projectFilesThatRunCode } = await import('../harness/registry.js');
          const withheld = projectFilesThatRunCode({ gitRepositoryMadeByBaton: imported.workspace.snapshot.manifest.kind === 'git' }).join(', ');
          process.stderr.write(`untrusted: its workspace restores without ${withheld} (files that make a CLI run commands); review them with \`baton workspace ${id} -o DIR\`, trust them with \`baton resume ${id} --trust PROMPT\`\n`);
        }
        const setup = imported.conversation.options;
        const code = [...Object.keys(setup?.mcpServers ?? {}).map((name) => `MCP server ${name}`), ...(setup?.skills ?? []).map((skill) => `skill ${skill.name}`)];
        if (!options.trust && code.length > 0) {
          process.stderr.write(`untrusted: its runs start without ${code.map(terminalLine).join(', ')} (they run code or steer the agent); review them with \`baton show --json ${id}\`, use them with \`baton resume ${id} --trust PROMPT\`\n`);
        }
        process.stdout.write(`${terminalLine(id)}\n`);
      });
    });
}

/** The conversation as readable text: each run with its prompt, the agent's replies and the commands it ran. */
export async function renderConversation(store: Store, id: string): Promise<string> {
  const conversation = await requireConversation(store, id);
  const runs = await store.listRuns(id);
  const transcript = await store.loadTranscript(id);
  const view = getHarness(conversation.harness).viewTranscript(transcript?.files ?? []);
  const snapshots = await store.listWorkspaceSnapshots(id);
  const { model, effort, mcpServers, skills } = conversation.options;
  return formatConversation({
    conversation: { ...conversation, model, effort, mcpServers: Object.keys(mcpServers ?? {}), skills: skills?.map((skill) => skill.name) },
    runs,
    view,
    workspaceOf: (runId) => snapshots.filter((snapshot) => snapshot.runId === runId).at(-1)?.manifest,
  });
}

export interface ConversationText {
  conversation: {
    id: string;
    harness: string;
    sessionId: string | undefined;
    forkedFrom?: ForkOrigin | undefined;
    adoptedFrom?: Pick<AdoptionOrigin, 'harness' | 'sessionId' | 'host'> | undefined;
    trust?: Trust | undefined;
    /** What every run launches with: names only (a server's conversation lists its MCP servers and skills by name). */
    model?: string | null | undefined;
    effort?: string | null | undefined;
    mcpServers?: string[] | undefined;
    skills?: string[] | undefined;
  };
  runs: Array<Pick<Run, 'id' | 'sequence' | 'kind' | 'status' | 'exitCode' | 'host' | 'startedAt' | 'cwd' | 'prompt' | 'error' | 'usage'> & Partial<Pick<Run, 'redaction'>>>;
  view: TranscriptView;
  workspaceOf?: (runId: string) => WorkspaceManifest | undefined;
}

/** One line of token usage: `tokens: 1200 in (400 cached) · 300 out · 3 model requests`. */
export function usageText(usage: RunUsage): string {
  const n = (value: number): string => String(Math.max(0, Math.floor(Number(value) || 0)));
  return `tokens: ${n(usage.inputTokens)} in (${n(usage.cachedInputTokens)} cached) · ${n(usage.outputTokens)} out · ${n(usage.requests)} model request${usage.requests === 1 ? '' : 's'}`;
}

/** A transcript item with every field escaped for the terminal: names and paths as one line, bodies keep newlines. */
function terminalItem(item: ViewItem): ViewItem {
  const output = item.kind === 'user' || item.kind === 'assistant' || item.output === undefined ? undefined : terminalText(item.output);
  switch (item.kind) {
    case 'user':
    case 'assistant':
      return { ...item, text: terminalText(item.text) };
    case 'command':
      return { ...item, command: terminalText(item.command), output };
    case 'tool':
      return { ...item, name: terminalLine(item.name), input: terminalText(item.input), output };
    case 'edit':
      return { ...item, paths: item.paths.map(terminalLine), diff: terminalText(item.diff), output };
  }
}

/**
 * Renders a conversation (from the local store or from a server) as `baton show` prints it. Every stored field
 * is escaped where it is placed (one-line fields lose their newlines too), and the whole text once more, so no
 * field this function forgets can reach the terminal with an ESC in it.
 */
export function formatConversation({ conversation, runs, view, workspaceOf }: ConversationText): string {
  const line = (value: string | number): string => terminalLine(String(value));
  const out: string[] = [`conversation ${line(conversation.id)} · ${line(conversation.harness)} · session ${line(conversation.sessionId ?? '(none)')}`];
  const fork = conversation.forkedFrom;
  if (fork) out.push(`forked from ${line(fork.conversationId)}${typeof fork.turn === 'number' ? ` at turn ${line(fork.turn)}` : ''}${fork.runId ? ` (run ${line(fork.runId)})` : ''}: ${line(fork.reason)}`);
  if (conversation.adoptedFrom) out.push(adoptedFromText(conversation.adoptedFrom));
  const setup = [
    conversation.model ? `model ${line(conversation.model)}` : '',
    conversation.effort ? `${line(conversation.effort)} effort` : '',
    conversation.mcpServers?.length ? `MCP: ${conversation.mcpServers.map(line).join(', ')}` : '',
    conversation.skills?.length ? `skills: ${conversation.skills.map(line).join(', ')}` : '',
  ].filter((part) => part !== '');
  if (setup.length > 0) out.push(`setup: ${setup.join(' · ')}`);
  if (conversation.trust === 'untrusted') out.push(`untrusted (imported): its workspace restores without the files that make a CLI run commands; \`baton resume ${line(conversation.id)} --trust PROMPT\` trusts it`);
  const byTurn = splitTurns(view.items);
  const render = (item: ViewItem): string => renderItem(terminalItem(item));
  const { turnsOfRun, unclaimed } = turnsOfRuns(runs, byTurn);
  for (const index of unclaimed) out.push('', ...byTurn[index]!.map(render));
  runs.forEach((run, index) => {
    const where = [run.host, run.status === 'queued' ? '' : time(run.startedAt), run.cwd].filter((part) => part !== '').map(line).join(' · ');
    out.push('', `── run ${line(run.sequence)} · ${line(run.kind)} · ${line(run.status)}${run.exitCode !== undefined ? ` (exit ${line(run.exitCode)})` : ''}${where ? ` · ${where}` : ''}`);
    const own = turnsOfRun[index]!;
    for (const turn of own) out.push(...byTurn[turn]!.map(render));
    if (own.length === 0 && run.kind === 'interactive') out.push(run.status === 'running' ? '(open in the CLI\'s own UI: its turns appear as they are saved)' : '(opened in the CLI\'s own UI; nothing was typed there)');
    else if (own.length === 0 && run.kind === 'adopt') out.push('(adopted: the local session held nothing new)');
    else if (own.length === 0) out.push(renderItem({ kind: 'user', text: terminalText(run.prompt) }), run.status === 'queued' ? '(queued: waiting for a worker)' : '(nothing saved for this run)');
    if (run.error && run.status !== 'succeeded') out.push(`! ${terminalText(run.error)}`);
    if (run.redaction?.kind === 'off') out.push('! saved without redaction (--no-redact): credentials it printed are stored as they are');
    if (run.usage) out.push(`◦ ${usageText(run.usage)}`);
    const workspace = workspaceOf?.(run.id);
    if (workspace?.kind === 'too-large') out.push(`! workspace too large to save (${workspace.bytes} bytes > ${workspace.limitBytes})`);
    const changedFiles = Array.isArray(workspace?.changedFiles) ? workspace.changedFiles : [];
    if (changedFiles.length > 0) out.push(`✎ files changed: ${changedFiles.map(terminalLine).join(', ')}`);
  });
  const total = sumUsage(runs.map((run) => run.usage));
  if (total && runs.length > 1) out.push('', `◦ conversation: ${usageText(total)}`);
  if (view.unparsedLines > 0) out.push('', `(${line(view.unparsedLines)} transcript line(s) were not JSON; they are kept as they are)`);
  return terminalText(`${out.join('\n')}\n`);
}
