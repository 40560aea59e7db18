/** Start a conversation: harness, prompt, and the agent setup every run keeps (model, effort, system prompt, MCP servers). */
import { useState, type FormEvent } from 'react';
import { api, ApiError, useHarnesses } from './api';
import { navigate } from './router';

/** The MCP servers of a pasted `{"mcpServers": {…}}` (the format of .mcp.json); the server checks each one. */
function mcpServersFrom(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`MCP servers: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const servers = typeof parsed === 'object' && parsed !== null ? (parsed as { mcpServers?: unknown }).mcpServers : undefined;
  if (typeof servers !== 'object' || servers === null) throw new Error('MCP servers: write {"mcpServers": {"NAME": {"command": "…", "args": […]}}}');
  return servers as Record<string, unknown>;
}

export function NewConversation({ onUnauthorized }: { onUnauthorized: () => void }) {
  const harnesses = useHarnesses(onUnauthorized);
  const [chosen, setHarness] = useState<string | undefined>();
  const harness = chosen ?? harnesses[0]?.id ?? '';
  const option = harnesses.find((candidate) => candidate.id === harness);
  const [model, setModel] = useState('');
  const [effort, setEffort] = useState('');
  const [systemPrompt, setSystemPrompt] = useState('');
  const [mcpConfig, setMcpConfig] = useState('');
  const [prompt, setPrompt] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const mcpServers = mcpServersFrom(mcpConfig);
      const body = {
        harness,
        prompt,
        ...(model.trim() ? { model: model.trim() } : {}),
        ...(effort && option?.effortLevels.includes(effort) ? { effort } : {}),
        ...(systemPrompt.trim() && option?.systemPrompt ? { systemPrompt } : {}),
        ...(mcpServers ? { mcpServers } : {}),
      };
      const created = await api<{ conversationId: string }>('POST', '/v1/conversations', body);
      navigate(`#/c/${encodeURIComponent(created.conversationId)}`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) onUnauthorized();
      else setError(caught instanceof ApiError ? `${caught.message}${caught.hint ? ` — ${caught.hint}` : ''}` : caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  };

  return (
    <form className="card new-conversation" onSubmit={submit}>
      <h1>New conversation</h1>
      <div className="row">
        <label>
          Agent
          <select data-testid="harness" value={harness} onChange={(event) => setHarness(event.target.value)}>
            {harnesses.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.displayName}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>
            Model <span className="muted">(optional)</span>
          </span>
          <input data-testid="model" value={model} onChange={(event) => setModel(event.target.value)} placeholder="the worker's default" />
        </label>
        {option && option.effortLevels.length > 0 && (
          <label>
            Reasoning effort
            <select data-testid="effort" value={effort} onChange={(event) => setEffort(event.target.value)}>
              <option value="">the CLI's default</option>
              {option.effortLevels.map((level) => (
                <option key={level} value={level}>
                  {level}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <label>
        Prompt
        <textarea data-testid="prompt" rows={6} value={prompt} onChange={(event) => setPrompt(event.target.value)} placeholder="What should the agent do?" required />
      </label>
      <details className="agent-setup">
        <summary>Agent setup: system prompt and MCP servers, kept for every follow-up</summary>
        {option?.systemPrompt !== false ? (
          <label>
            <span>
              System prompt <span className="muted">(optional)</span>
            </span>
            <textarea data-testid="system-prompt" rows={3} value={systemPrompt} onChange={(event) => setSystemPrompt(event.target.value)} placeholder="Extra instructions for every run" />
          </label>
        ) : (
          <p className="muted">{option.displayName} takes no system prompt.</p>
        )}
        <label>
          <span>
            MCP servers <span className="muted">(optional; the format of .mcp.json, with {'${NAME}'} for a secret)</span>
          </span>
          <textarea data-testid="mcp-config" rows={4} value={mcpConfig} onChange={(event) => setMcpConfig(event.target.value)} placeholder={'{"mcpServers": {"docs": {"type": "http", "url": "https://…"}}}'} spellCheck={false} />
        </label>
      </details>
      {error && <p className="error">{error}</p>}
      <button className="button primary" type="submit" disabled={busy || prompt.trim() === '' || harness === ''} data-testid="start">
        {busy ? 'Starting…' : 'Start'}
      </button>
    </form>
  );
}
