/**
 * The environment inside the sandbox: only what baton passes on. The machine's basics (locale, terminal,
 * proxies, CA certificates), the variables the harness says its CLI reads, and what the operator names —
 * never baton's own BATON_* settings, database URLs or other tokens of the machine it runs on.
 */
const BASICS = [
  'PATH', 'LANG', 'LANGUAGE', 'LC_*', 'TZ', 'TERM', 'COLORTERM', 'NO_COLOR', 'FORCE_COLOR',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS',
];

/** Never passed on, whatever a pattern says: baton's own settings (store URL, tokens, master keys). */
const WITHHELD = /^BATON_/;

/** `names` holds variable names, or prefixes ending in `*`. */
export function variableMatcher(names: readonly string[]): (name: string) => boolean {
  const exact = new Set(names.filter((name) => !name.endsWith('*')));
  const prefixes = names.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix));
}

export function sandboxEnvironment(env: NodeJS.ProcessEnv, input: { passOn: readonly string[]; home: string; user: string }): Record<string, string> {
  const passes = variableMatcher([...BASICS, ...input.passOn]);
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && passes(name) && !WITHHELD.test(name)) result[name] = value;
  }
  return { ...result, PATH: result.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: input.home, USER: input.user, LOGNAME: input.user, SHELL: '/bin/bash', TMPDIR: '/tmp' };
}
