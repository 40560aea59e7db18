/**
 * baton web: sign in with a tenant token (or a local `baton serve`'s one-time sign-in URL), then conversations,
 * one conversation, and a new one (hash routes).
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, redeemSignInCode, session } from './api';
import { ConversationList } from './ConversationList';
import { ConversationPage } from './ConversationPage';
import { NewConversation } from './NewConversation';
import { routeOf } from './router';
import { SignIn } from './SignIn';
import './styles.css';

// The sign-in URL's code leaves the address bar (and the history entry) before anything else happens.
const signInCode = /^#sign-in=([A-Za-z0-9_-]{1,200})$/.exec(window.location.hash)?.[1];
if (signInCode) window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`);
const signingIn = signInCode === undefined ? undefined : redeemSignInCode(signInCode);

function App() {
  const [signedIn, setSignedIn] = useState(() => signingIn === undefined && session.token() !== undefined);
  const [signInNotice, setSignInNotice] = useState<string | undefined>();
  const [redeeming, setRedeeming] = useState(signingIn !== undefined);
  useEffect(() => {
    signingIn
      ?.then(() => setSignedIn(true))
      .catch((caught: unknown) =>
        setSignInNotice(caught instanceof ApiError && caught.status === 401 ? 'That sign-in link was used already. Open the newest one `baton serve` printed in its terminal.' : `Cannot sign in: ${caught instanceof Error ? caught.message : String(caught)}`),
      )
      .finally(() => setRedeeming(false));
  }, []);
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const onHash = (): void => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const signOut = (): void => {
    session.signOut();
    setSignedIn(false);
  };
  if (redeeming) return <div className="signin"><p className="muted">Signing in…</p></div>;
  if (!signedIn) return <SignIn notice={signInNotice} onSignedIn={() => setSignedIn(true)} />;
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          baton
        </a>
        <nav>
          <a href="#/">Conversations</a>
          <a className="button primary" href="#/new" data-testid="new-conversation">
            New conversation
          </a>
          <button type="button" className="button" onClick={signOut}>
            Sign out
          </button>
        </nav>
      </header>
      <main>
        {route.page === 'list' && <ConversationList onUnauthorized={signOut} />}
        {route.page === 'new' && <NewConversation onUnauthorized={signOut} />}
        {route.page === 'conversation' && <ConversationPage key={route.id} id={route.id} onUnauthorized={signOut} />}
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
