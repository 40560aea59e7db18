/** baton web: sign in with a tenant token, then conversations, one conversation, and a new one (hash routes). */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { session } from './api';
import { ConversationList } from './ConversationList';
import { ConversationPage } from './ConversationPage';
import { NewConversation } from './NewConversation';
import { routeOf } from './router';
import { SignIn } from './SignIn';
import './styles.css';

function App() {
  const [signedIn, setSignedIn] = useState(() => session.token() !== undefined);
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
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
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
