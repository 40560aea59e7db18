/** The names a tenant secret may have: the environment variable its runs see. */
import { BatonError, quoted } from '../errors.js';
import { harnessHomeVariables } from '../harness/registry.js';

/** An environment variable name baton does not set itself (and never a BATON_* setting, which the sandbox withholds). */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RESERVED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', ...harnessHomeVariables(), 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'NODE_OPTIONS']);

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name) || RESERVED.has(name) || name.startsWith('BATON_')) {
    throw new BatonError('USAGE', `${quoted(name, 60)} cannot be a secret's name`, {
      hint: 'name it as the environment variable the runs should see (letters, digits, _; not PATH, HOME, BATON_* and the like), e.g. OPENAI_API_KEY',
    });
  }
}

