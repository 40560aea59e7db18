/**
 * One conversation as a chat across all its runs: each run's boundary (which worker ran it, when), its turn from
 * the saved transcript, and — while a run is active — its events streaming in live. The list is virtualised, so a
 * conversation of thousands of turns renders only what is on screen.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { isFinishedRunStatus } from '../../src/model/run-status';
import { splitTurns, turnsOfRuns, type ViewItem } from '../../src/transcript/view';
import { api, ApiError, clockTime, session, downloadExport, followRun, forkAtTurn, type Conversation, type LiveEvent, type Run, type RunFailure, type Transcript, type Usage } from './api';
import { Item } from './Items';
import { Markdown } from './Markdown';
import { navigate } from './router';
import { StatusBadge } from './StatusBadge';

type Row =
  | { kind: 'run'; run: Run }
  | { kind: 'item'; item: ViewItem }
  | { kind: 'note'; text: string; tone: 'muted' | 'error' }
  | { kind: 'failure'; failure: RunFailure }
  | { kind: 'live'; run: Run }
  /** The end of a saved turn (1 = the first), where a fork can be cut. */
  | { kind: 'turn-end'; turn: number };

/** The rows of the chat: run headers, each run's turn, and the live block of the active run. */
function chatRows(conversation: Conversation, transcript: Transcript, activeRunId: string | undefined): Row[] {
  const turns = splitTurns(transcript.items);
  const { turnsOfRun, unclaimed } = turnsOfRuns(conversation.runs, turns);
  const rows: Row[] = [];
  const pushTurn = (index: number): void => {
    for (const item of turns[index]!) rows.push({ kind: 'item', item });
    rows.push({ kind: 'turn-end', turn: index + 1 });
  };
  for (const index of unclaimed) pushTurn(index);
  conversation.runs.forEach((run, index) => {
    rows.push({ kind: 'run', run });
    const interactive = run.kind === 'interactive';
    if (run.id === activeRunId) {
      // An interactive run's turns are typed in the CLI's UI: they arrive as its live events.
      if (!interactive) rows.push({ kind: 'item', item: { kind: 'user', text: run.prompt } });
      rows.push({ kind: 'live', run });
      return;
    }
    const own = turnsOfRun[index]!;
    for (const turn of own) pushTurn(turn);
    if (own.length === 0 && run.kind === 'adopt') rows.push({ kind: 'note', text: 'Adopted: the local session held nothing new.', tone: 'muted' });
    else if (own.length === 0 && interactive) rows.push({ kind: 'note', text: 'Opened in the CLI\'s own UI; nothing was typed there.', tone: 'muted' });
    else if (own.length === 0) {
      rows.push({ kind: 'item', item: { kind: 'user', text: run.prompt } });
      rows.push({ kind: 'note', text: run.status === 'queued' ? 'Queued: waits for a worker (and for the runs before it).' : 'Nothing was saved for this run.', tone: 'muted' });
    }
    if (run.failure) rows.push({ kind: 'failure', failure: run.failure });
    else if (run.error && run.status !== 'succeeded') rows.push({ kind: 'note', text: run.error, tone: 'error' });
  });
  return rows;
}

/** How a run's header names its kind (a kind the page does not know shows as it is). */
const RUN_KIND_LABELS: Partial<Record<string, string>> = {
  interactive: 'interactive (baton open)',
  adopt: 'adopted (baton adopt)',
  fork: 'forked (baton fork)',
};

/**
 * The command that continues this conversation in the CLI's own UI on the user's machine (`baton open`), with
 * this server as its store; shown on demand, with a copy button.
 */
function OpenLocally({ conversationId }: { conversationId: string }) {
  const [shown, setShown] = useState(false);
  const [copied, setCopied] = useState(false);
  // On this machine's own `baton serve` the terminal shares its store: no server, no token.
  const local = session.isMachineOwner();
  const command = local ? `baton open ${conversationId}` : `baton open --server ${window.location.origin} ${conversationId}`;
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="open-locally">
      <button type="button" className="button" data-testid="open-locally" onClick={() => setShown((value) => !value)} aria-expanded={shown}>
        Open locally
      </button>
      {shown && (
        <div className="open-locally-panel" data-testid="open-locally-command">
          <p className="muted small">{local ? "Continue in the agent CLI's own UI, in a terminal on this machine:" : "Continue in the agent CLI's own UI on your machine (with BATON_TOKEN set):"}</p>
          <code>{command}</code>
          <button type="button" className="button small" onClick={() => void copy()}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        </div>
      )}
    </div>
  );
}

/** Starts a new conversation holding the turns up to this one, with the workspace saved then, and goes there. */
function ForkFromHere({ conversationId, turn, onError }: { conversationId: string; turn: number; onError: (error: unknown) => void }) {
  const [forking, setForking] = useState(false);
  const fork = async (): Promise<void> => {
    setForking(true);
    try {
      const created = await forkAtTurn(conversationId, turn);
      navigate(`#/c/${encodeURIComponent(created.conversation.id)}`);
    } catch (caught) {
      onError(caught);
    } finally {
      setForking(false);
    }
  };
  return (
    <div className="turn-end">
      <button type="button" className="button small subtle" data-testid="fork-from-here" data-turn={turn} disabled={forking} onClick={() => void fork()} title={`A new conversation with turns 1–${turn} of this one; this one stays as it is`}>
        {forking ? 'Forking…' : 'Fork from here'}
      </button>
    </div>
  );
}

/** Where this conversation came from: a fork (of which turn), an adopted session, or nothing. */
function Lineage({ conversation }: { conversation: Conversation }) {
  const { forkedFrom, adoptedFrom } = conversation;
  return (
    <>
      {forkedFrom && (
        <div className="muted small" data-testid="forked-from">
          forked from <a href={`#/c/${encodeURIComponent(forkedFrom.conversationId)}`}>{forkedFrom.conversationId}</a>
          {forkedFrom.turn ? ` at turn ${forkedFrom.turn}` : ''}: {forkedFrom.reason}
        </div>
      )}
      {adoptedFrom && (
        <div className="muted small" data-testid="adopted-from">
          adopted from {adoptedFrom.harness} session {adoptedFrom.sessionId} on {adoptedFrom.host}
        </div>
      )}
    </>
  );
}

function RunHeader({ run }: { run: Run }) {
  return (
    <div className="run-header" data-testid="run-header">
      <span className="run-number">Run {run.sequence}</span>
      <StatusBadge status={run.status} />
      <span className="muted">
        {RUN_KIND_LABELS[run.kind] ?? run.kind}
        {run.host ? ` · on ${run.host}` : ''}
        {run.startedAt ? ` · ${clockTime(run.startedAt)}` : run.queuedAt ? ` · queued ${clockTime(run.queuedAt)}` : ''}
        {run.handoffs > 0 ? ` · handed over ${run.handoffs}×` : ''}
      </span>
      {run.usage && (
        <span className="muted small" data-testid="run-usage">
          {usageText(run.usage)}
        </span>
      )}
    </div>
  );
}

/** `1200 tokens in (400 cached) · 300 out`: what the model proxy counted. */
export function usageText(usage: Usage): string {
  const n = (value: number): string => Math.max(0, Math.floor(Number(value) || 0)).toLocaleString('en-US');
  return `${n(usage.inputTokens)} tokens in (${n(usage.cachedInputTokens)} cached) · ${n(usage.outputTokens)} out`;
}

/** The active run's events as they arrive. */
function LiveBlock({ run, events }: { run: Run; events: LiveEvent[] }) {
  const blocks: Array<{ key: number; node: ReactNode }> = [];
  const commands = new Map<string, number>();
  for (const event of events) {
    const key = event.sequence;
    switch (event.type) {
      case 'prompt':
        blocks.push({ key, node: <Item item={{ kind: 'user', text: event.text }} /> });
        break;
      case 'message':
        blocks.push({ key, node: <div className="bubble assistant"><Markdown text={event.text} /></div> });
        break;
      case 'command.started':
        commands.set(event.command, blocks.length);
        blocks.push({ key, node: <Item item={{ kind: 'command', callId: undefined, command: event.command, output: undefined, exitCode: undefined }} /> });
        break;
      case 'command.completed': {
        const node = <Item item={{ kind: 'command', callId: undefined, command: event.command, output: event.output, exitCode: event.exitCode }} />;
        const started = commands.get(event.command);
        if (started !== undefined) {
          blocks[started] = { key, node };
          commands.delete(event.command);
        } else blocks.push({ key, node });
        break;
      }
      case 'file.changed':
        blocks.push({ key, node: <div className="note muted">✎ {event.paths.join(', ')}</div> });
        break;
      case 'warning':
      case 'turn.failed':
      case 'error':
        blocks.push({ key, node: <div className={`note ${event.type === 'warning' ? 'muted' : 'error'}`}>{event.message}</div> });
        break;
      default:
        break;
    }
  }
  return (
    <div className="live" data-testid="live-output">
      <div className="live-head">
        <span className="pulse" /> {run.status === 'queued' ? 'Waiting for a worker…' : `Running on ${run.host ?? 'a worker'}…`}
      </div>
      {blocks.map((block) => (
        <div key={block.key} data-testid="live-event">
          {block.node}
        </div>
      ))}
    </div>
  );
}

/** Why a follow-up cannot be sent now, or undefined when it can. */
function followupBlocked(conversation: Conversation): string | undefined {
  if (conversation.runs.some((run) => run.status === 'queued')) return 'A follow-up is already queued; it runs after the active run. Send the next one when it starts.';
  if (!conversation.sessionId && conversation.runs.length > 0 && conversation.runs.every((run) => isFinishedRunStatus(run.status))) {
    return 'The first run failed before the agent started a session, so there is nothing to resume. Start a new conversation.';
  }
  return undefined;
}

export function ConversationPage({ id, onUnauthorized }: { id: string; onUnauthorized: () => void }) {
  const [conversation, setConversation] = useState<Conversation | undefined>();
  const [transcript, setTranscript] = useState<Transcript | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [live, setLive] = useState<{ runId: string; events: LiveEvent[] }>({ runId: '', events: [] });
  const [followup, setFollowup] = useState('');
  const [sending, setSending] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const path = `/v1/conversations/${encodeURIComponent(id)}`;

  const fail = useCallback(
    (caught: unknown) => {
      if (caught instanceof ApiError && caught.status === 401) onUnauthorized();
      else setError(caught instanceof ApiError && caught.status === 404 ? 'There is no such conversation for this token.' : caught instanceof Error ? caught.message : String(caught));
    },
    [onUnauthorized],
  );

  // Loads can overlap, and a status update may arrive while one is in flight: a load's answer is applied only if
  // nothing newer was applied since it started, so a slow, stale answer never overwrites a fresher state.
  const loadsStarted = useRef(0);
  const oldestAcceptable = useRef(0);
  const load = useCallback(async () => {
    const id = ++loadsStarted.current;
    try {
      const [nextConversation, nextTranscript] = await Promise.all([api<Conversation>('GET', path), api<Transcript>('GET', `${path}/transcript`)]);
      if (id < oldestAcceptable.current) return;
      oldestAcceptable.current = id;
      setConversation(nextConversation);
      setTranscript(nextTranscript);
    } catch (caught) {
      fail(caught);
    }
  }, [path, fail]);

  useEffect(() => {
    void load();
  }, [load]);

  const activeRun = conversation?.runs.find((run) => run.status === 'running') ?? conversation?.runs.find((run) => run.status === 'queued');
  const activeRunId = activeRun?.id;

  // Follow the active run live; when it ends, reload the saved conversation (the next queued run, if any, follows).
  useEffect(() => {
    if (!activeRunId) return;
    const controller = new AbortController();
    setLive({ runId: activeRunId, events: [] });
    void followRun(
      activeRunId,
      {
        onEvent: (event) => setLive((current) => (current.runId === activeRunId ? { runId: activeRunId, events: [...current.events, event] } : current)),
        onStatus: (run) => {
          oldestAcceptable.current = loadsStarted.current + 1;
          applyStatus(run);
        },
      },
      controller.signal,
    )
      .then(() => {
        if (!controller.signal.aborted) void load();
      })
      .catch(fail);
    return () => controller.abort();
  }, [activeRunId, load, fail]);

  /** A run's new status, as the event stream reported it. */
  function applyStatus(run: Run): void {
    setConversation((current) => (current ? { ...current, status: run.status === 'running' ? 'running' : current.status, runs: current.runs.map((candidate) => (candidate.id === run.id ? run : candidate)) } : current));
  }

  const rows = useMemo(() => (conversation && transcript ? chatRows(conversation, transcript, activeRunId) : []), [conversation, transcript, activeRunId]);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (index) => (rows[index]?.kind === 'run' ? 44 : rows[index]?.kind === 'turn-end' ? 30 : 96),
    overscan: 8,
  });

  // Start at the newest turn, and follow it while it grows.
  const lastCount = useRef(0);
  useEffect(() => {
    if (rows.length > 0 && rows.length !== lastCount.current) {
      lastCount.current = rows.length;
      virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
    }
  }, [rows.length, virtualizer]);

  const send = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setSending(true);
    try {
      await api('POST', `${path}/followups`, { prompt: followup });
      setFollowup('');
      await load();
    } catch (caught) {
      fail(caught);
    } finally {
      setSending(false);
    }
  };

  if (error && !conversation) return <p className="error">{error}</p>;
  if (!conversation || !transcript) return <p className="muted">Loading…</p>;
  const blocked = followupBlocked(conversation);

  return (
    <section className="conversation">
      <div className="toolbar">
        <div>
          <h1 data-testid="conversation-title">{conversation.title || conversation.id}</h1>
          <div className="muted small">
            {conversation.harness} · {conversation.model ?? 'default model'}
            {conversation.effort && <span data-testid="conversation-effort"> · {conversation.effort} effort</span>}
            {conversation.mcpServers.length > 0 && <span data-testid="conversation-mcp"> · MCP: {conversation.mcpServers.join(', ')}</span>}
            {conversation.skills.length > 0 && <span data-testid="conversation-skills"> · skills: {conversation.skills.join(', ')}</span>} · {conversation.runs.length} run{conversation.runs.length === 1 ? '' : 's'} · <StatusBadge status={conversation.status} />
            {conversation.usage && <span data-testid="conversation-usage"> · {usageText(conversation.usage)}</span>}
          </div>
          <Lineage conversation={conversation} />
        </div>
        <div className="toolbar-actions">
          <OpenLocally conversationId={conversation.id} />
          <button type="button" className="button" data-testid="download" onClick={() => void downloadExport(conversation.id).catch(fail)}>
            Download export
          </button>
        </div>
      </div>
      {error && <p className="error">{error}</p>}
      <div className="chat" ref={scroller} data-testid="chat">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((virtual) => {
            const row = rows[virtual.index]!;
            return (
              <div key={virtual.key} data-index={virtual.index} ref={virtualizer.measureElement} className="chat-row" style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${virtual.start}px)` }}>
                {row.kind === 'run' && <RunHeader run={row.run} />}
                {row.kind === 'item' && <Item item={row.item} />}
                {row.kind === 'note' && <div className={`note ${row.tone}`}>{row.text}</div>}
                {row.kind === 'failure' && (
                  <div className="note error failure" data-code={row.failure.code ?? ''}>
                    {row.failure.code && <strong className="failure-code">{row.failure.code}</strong>} <span className="failure-message">{row.failure.message}</span>
                    <div className="failure-hint">What to do: {row.failure.hint}</div>
                  </div>
                )}
                {row.kind === 'turn-end' && <ForkFromHere conversationId={conversation.id} turn={row.turn} onError={fail} />}
                {row.kind === 'live' && <LiveBlock run={row.run} events={live.runId === row.run.id ? live.events : []} />}
              </div>
            );
          })}
        </div>
      </div>
      <form className="followup" onSubmit={send}>
        <textarea
          data-testid="followup"
          rows={3}
          value={followup}
          onChange={(event) => setFollowup(event.target.value)}
          placeholder={blocked ?? (activeRun ? 'Send a follow-up: it runs after the active run.' : 'Send a follow-up…')}
          disabled={blocked !== undefined || sending}
        />
        <div className="followup-side">
          {blocked && (
            <p className="muted small" data-testid="followup-blocked">
              {blocked}
            </p>
          )}
          <button className="button primary" type="submit" data-testid="send" disabled={blocked !== undefined || sending || followup.trim() === ''}>
            {sending ? 'Sending…' : activeRun ? 'Queue follow-up' : 'Send'}
          </button>
        </div>
      </form>
    </section>
  );
}
