/** Sign-in with a tenant token: checked against the server before it is kept (in this tab's session only). */
import { useState, type FormEvent } from 'react';
import { api, ApiError, session } from './api';

export function SignIn({ onSignedIn, notice }: { onSignedIn: () => void; notice?: string | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('GET', '/v1/conversations', undefined, token.trim());
      session.signIn(token.trim());
      onSignedIn();
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? 'This server did not accept that token. Create one with `baton token create --tenant NAME` and paste it whole.'
          : `Cannot reach the server: ${caught instanceof Error ? caught.message : String(caught)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <form className="card" onSubmit={submit}>
        <h1>baton</h1>
        <p className="muted">Sign in with your tenant's API token. It is kept in this browser tab only. On your own machine, open the sign-in link `baton serve` printed instead.</p>
        <label htmlFor="token">API token</label>
        <input id="token" data-testid="token" type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} placeholder="baton_…" required />
        {error && (
          <p className="error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
        <button className="button primary" type="submit" disabled={busy || token.trim() === ''} data-testid="signin">
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
