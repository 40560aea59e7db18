/** The built web UI at / (its own bundled code only, under a strict content security policy), or a note on building it. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { serveStatic } from '@hono/node-server/serve-static';
import { secureHeaders } from 'hono/secure-headers';
import type { ApiEnv } from '../auth.js';

/** `webRoot` is the built UI (dist/web); without it, / says how to build it. */
export function webUiRoutes(app: OpenAPIHono<ApiEnv>, webRoot: string | undefined): void {
  if (webRoot) {
    const root = webRoot;
    // The page runs only its own bundled code: transcripts it shows are untrusted input.
    const pageHeaders = secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        // A form planted in a transcript must not post anywhere, even if it got past the sanitiser.
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    });
    app.use('/', pageHeaders);
    app.use('/assets/*', pageHeaders);
    // Hashed file names: cached for good. index.html is looked at on every visit.
    app.use('/assets/*', serveStatic({ root, onFound: (_path, c) => c.header('Cache-Control', 'public, max-age=31536000, immutable') }));
    app.get('/', serveStatic({ root, path: 'index.html', onFound: (_path, c) => c.header('Cache-Control', 'no-cache') }));
  } else {
    app.get('/', (c) => c.text('The baton web UI is not built here: run `npm run build` in the baton checkout, then restart `baton serve`.\n', 404));
  }
}
