/**
 * Signing in to a `baton serve` of this machine's own store without a token. The server prints a sign-in URL
 * whose fragment holds a one-time code (a fragment never reaches a server log or a proxy); the web UI sends the
 * code to POST /sign-in once and gets a session token for that tab, kept in memory here (gone when the server
 * stops). A code works once, so one copied out of the browser's history is spent; the server then prints the
 * next one for the next browser. The session is the machine's owner (auth.ts): it sees conversations without a
 * tenant, the ones `baton run` makes in a terminal.
 *
 * Only for a server bound to a loopback address (serve.ts refuses anything else without tokens), and every
 * request must name that address in its Host header: a web page that rebinds its own name to 127.0.0.1 sends
 * its name, and is refused.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { OwnerSessions } from './auth.js';
import { ApiError } from './errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export const SignInBody = z.strictObject({ code: z.string().min(1).max(200) });

export class LocalSignIn implements OwnerSessions {
  private code = randomBytes(32).toString('base64url');
  private readonly sessions = new Set<string>();

  constructor(private readonly onRedeemed: (nextUrl: string) => void = () => undefined) {}

  /** The server's address with the current one-time code in the fragment; `base` is the server's URL. */
  url(base: string): string {
    return `${base}/#sign-in=${this.code}`;
  }

  /** A session token for a valid, unspent code (the code is spent); undefined otherwise. */
  redeem(code: string, base: string): string | undefined {
    // Compared as digests: the same length whatever was sent, in constant time.
    if (!timingSafeEqual(digest(code), digest(this.code))) return undefined;
    this.code = randomBytes(32).toString('base64url');
    const token = `baton_local_${randomBytes(32).toString('base64url')}`;
    this.sessions.add(digest(token).toString('hex'));
    this.onRedeemed(this.url(base));
    return token;
  }

  isOwnerSession(token: string): boolean {
    return this.sessions.has(digest(token).toString('hex'));
  }
}

/** The Host values a loopback server answers to: its own address and port, by number or as localhost. */
export function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Refuses (421) a request whose Host header is not one of `hosts`: DNS rebinding reaches a loopback server under a foreign name. */
export function requireHost(hosts: () => Set<string>): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!hosts().has(host)) {
      throw new ApiError(421, 'WRONG_HOST', `this server answers only to ${[...hosts()][0]}, not to "${host.slice(0, 100)}"`, 'open the sign-in URL that `baton serve` printed');
    }
    await next();
  };
}
