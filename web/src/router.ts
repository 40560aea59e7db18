/** Hash routes: #/ (conversations), #/new, #/c/ID. */
export type Route = { page: 'list' } | { page: 'new' } | { page: 'conversation'; id: string };

export function routeOf(hash: string): Route {
  const conversation = /^#\/c\/([^/]+)$/.exec(hash);
  if (conversation) return { page: 'conversation', id: decodeURIComponent(conversation[1]!) };
  if (hash === '#/new') return { page: 'new' };
  return { page: 'list' };
}

export function navigate(hash: string): void {
  window.location.hash = hash;
}
