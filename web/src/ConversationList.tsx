/** Every conversation of the tenant, newest activity first, filterable by harness and status; refreshed live. */
import { useCallback, useEffect, useState } from 'react';
import { CONVERSATION_STATUSES } from '../../src/model/conversation-status';
import { api, ApiError, relativeTime, useHarnesses, type ConversationSummary } from './api';
import { StatusBadge } from './StatusBadge';

const REFRESH_MS = 3_000;

export function ConversationList({ onUnauthorized }: { onUnauthorized: () => void }) {
  const harnesses = useHarnesses(onUnauthorized);
  const [harness, setHarness] = useState('');
  const [status, setStatus] = useState('');
  const [conversations, setConversations] = useState<ConversationSummary[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = useCallback(async () => {
    const query = new URLSearchParams({ ...(harness ? { harness } : {}), ...(status ? { status } : {}) });
    try {
      const result = await api<{ conversations: ConversationSummary[] }>('GET', `/v1/conversations${query.size ? `?${query}` : ''}`);
      setConversations(result.conversations);
      setError(undefined);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) onUnauthorized();
      else setError(caught instanceof Error ? caught.message : String(caught));
    }
  }, [harness, status, onUnauthorized]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <section>
      <div className="toolbar">
        <h1>Conversations</h1>
        <div className="filters">
          <select aria-label="harness" data-testid="filter-harness" value={harness} onChange={(event) => setHarness(event.target.value)}>
            <option value="">all harnesses</option>
            {harnesses.map((option) => (
              <option key={option.id} value={option.id}>
                {option.displayName}
              </option>
            ))}
          </select>
          <select aria-label="status" data-testid="filter-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">any status</option>
            {CONVERSATION_STATUSES.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && <p className="error">{error}</p>}
      {conversations === undefined ? (
        <p className="muted">Loading…</p>
      ) : conversations.length === 0 ? (
        <div className="empty card">
          <p>No conversations{harness || status ? ' match these filters' : ' yet'}.</p>
          <a className="button primary" href="#/new">
            Start one
          </a>
        </div>
      ) : (
        <table className="conversations">
          <thead>
            <tr>
              <th>Title</th>
              <th>Harness</th>
              <th>Status</th>
              <th>Last activity</th>
              <th className="number">Runs</th>
            </tr>
          </thead>
          <tbody>
            {conversations.map((conversation) => (
              <tr key={conversation.id} data-testid="conversation-row">
                <td>
                  <a href={`#/c/${encodeURIComponent(conversation.id)}`}>{conversation.title || conversation.id}</a>
                </td>
                <td>{conversation.harness}</td>
                <td>
                  <StatusBadge status={conversation.status} />
                </td>
                <td title={conversation.updatedAt}>{relativeTime(conversation.updatedAt)}</td>
                <td className="number">{conversation.runs}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
