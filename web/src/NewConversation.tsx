/** Start a conversation: harness, model (optional), prompt. */
import { useState, type FormEvent } from 'react';
import { api, ApiError, useHarnesses } from './api';
import { navigate } from './router';

export function NewConversation({ onUnauthorized }: { onUnauthorized: () => void }) {
  const harnesses = useHarnesses(onUnauthorized);
  const [chosen, setHarness] = useState<string | undefined>();
  const harness = chosen ?? harnesses[0]?.id ?? '';
  const [model, setModel] = useState('');
  const [prompt, setPrompt] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await api<{ conversationId: string }>('POST', '/v1/conversations', { harness, prompt, ...(model.trim() ? { model: model.trim() } : {}) });
      navigate(`#/c/${encodeURIComponent(created.conversationId)}`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) onUnauthorized();
      else setError(caught instanceof ApiError ? `${caught.message}${caught.hint ? ` — ${caught.hint}` : ''}` : String(caught));
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
            {harnesses.map((option) => (
              <option key={option.id} value={option.id}>
                {option.displayName}
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
      </div>
      <label>
        Prompt
        <textarea data-testid="prompt" rows={6} value={prompt} onChange={(event) => setPrompt(event.target.value)} placeholder="What should the agent do?" required />
      </label>
      {error && <p className="error">{error}</p>}
      <button className="button primary" type="submit" disabled={busy || prompt.trim() === '' || harness === ''} data-testid="start">
        {busy ? 'Starting…' : 'Start'}
      </button>
    </form>
  );
}
