/**
 * NODE_EXTRA_CA_CERTS as bin/baton hands it on: under BATON_DEFERRED_NODE_EXTRA_CA_CERTS, so that Node did not read
 * and parse the file as this process booted (50 ms with the system bundle). `takeDeferredCaCertificates()`, first
 * thing in the process, puts the variable back — every process baton starts sees it as the user set it — and makes
 * this process's own TLS connections (PostgreSQL, object storage, `--server`, the model proxy's upstream) trust those
 * certificates as Node would have: added to the default root store of every secure context created without a `ca`
 * of its own, read once, at the first such context. A process started without the launcher is left alone.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';

export const DEFERRED_EXTRA_CA_CERTS = 'BATON_DEFERRED_NODE_EXTRA_CA_CERTS';

export function takeDeferredCaCertificates(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[DEFERRED_EXTRA_CA_CERTS];
  if (file === undefined) return;
  delete env[DEFERRED_EXTRA_CA_CERTS];
  if (file === '' || env.NODE_EXTRA_CA_CERTS !== undefined) return;
  env.NODE_EXTRA_CA_CERTS = file;
  trustOnFirstUse(file);
}

function trustOnFirstUse(file: string): void {
  let certificates: string | null | undefined;
  const extraCertificates = (): string | null => {
    if (certificates !== undefined) return certificates;
    try {
      certificates = readFileSync(file, 'utf8');
    } catch (error) {
      // What Node itself prints when the file will not load, and then it goes on without it.
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${error instanceof Error ? error.message : String(error)}`);
      certificates = null;
    }
    return certificates;
  };
  // Loaded only here: node:tls costs ~5 ms to load, which a run without the launcher's hand-off need not pay first.
  const tls = createRequire(import.meta.url)('node:tls') as typeof Tls;
  const createSecureContext = tls.createSecureContext;
  // Node's TLS clients (tls.connect, https, fetch's undici, and so pg and the AWS SDK) create their contexts through
  // this export at call time. As with NODE_EXTRA_CA_CERTS, a context given its own `ca` gets none of the extra ones.
  // addCACert on a context that shares the default root store copies that store first (verified with node 20.20:
  // a server signed by the extra CA verifies, through fetch and https, and only with the certificates deferred here).
  tls.createSecureContext = function withExtraCertificates(options?: Tls.SecureContextOptions): Tls.SecureContext {
    const context = createSecureContext(options);
    const extra = options?.ca == null ? extraCertificates() : null;
    if (extra) (context.context as { addCACert(pem: string): void }).addCACert(extra);
    return context;
  };
}
