/**
 * A conversation's agent setup (src/model/agent-setup.ts) on its way in and at each run:
 *  - in: refused when an MCP server's env or headers hold a literal credential (the setup is stored with the
 *    conversation, and copies of the store must not carry keys; `${NAME}` references are resolved at each run);
 *    refused when the harness cannot honour an option;
 *  - at a run: `${NAME}` resolved from the run's environment, the resolved values known to the redactor, and
 *    the MCP servers and skills of an untrusted (imported) conversation withheld: both run code or steer the agent.
 */
import { BatonError, quoted } from '../errors.js';
import type { Harness } from '../harness/harness.js';
import { AgentSetup, isStdioServer, type McpServers } from '../model/agent-setup.js';
import { describeIssue } from '../model/describe-issue.js';
import { isCredentialName, isSecretValue } from '../redact/known-secrets.js';

export { redactSetup, setupForRun, withheldWarning, type RunSetup } from './run-setup.js';

const REFERENCES = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The setup checked as it arrives: the harness can honour it, and it holds no credential (see run/agent-setup.ts). */
export function checkSetup(harness: Harness, setup: AgentSetup): AgentSetup {
  const parsed = AgentSetup.safeParse(setup);
  if (!parsed.success) throw new BatonError('USAGE', `the agent setup is not valid: ${describeIssue(parsed.error)}`, { hint: 'see `baton run --help` for the options' });
  assertSetupSupported(harness, parsed.data);
  assertNoStoredCredentials(parsed.data.mcpServers);
  return parsed.data;
}

/** USAGE when an MCP server's env variable or header that names a credential holds a literal value. */
export function assertNoStoredCredentials(servers: McpServers | undefined): void {
  for (const [name, server] of Object.entries(servers ?? {})) {
    const settings = isStdioServer(server) ? Object.entries(server.env ?? {}) : Object.entries(server.headers ?? {});
    for (const [key, value] of settings) {
      const literal = value.replace(REFERENCES, '');
      if (isCredentialName(key) && isSecretValue(literal.replace(/^(?:Bearer|Basic|token)\s+/i, ''))) {
        throw new BatonError('USAGE', `MCP server ${name}: ${key} holds a credential, which would be stored with the conversation`, {
          hint: `write "${isStdioServer(server) ? `\${${key}}` : 'Bearer ${MY_TOKEN}'}" instead and set that variable where the run happens (a tenant secret on a server)`,
        });
      }
    }
  }
}

/** USAGE when the harness's CLI cannot take an option of the setup (see Harness.setupSupport). */
export function assertSetupSupported(harness: Harness, setup: AgentSetup): void {
  const support = harness.setupSupport;
  if (setup.effort !== undefined && !support.effort) {
    throw new BatonError('USAGE', `${harness.displayName} has no reasoning effort setting`, { hint: 'drop --effort for this harness' });
  }
  if (setup.systemPrompt !== undefined && !support.systemPrompt.supported) {
    throw new BatonError('USAGE', `${harness.displayName} cannot take a system prompt: ${support.systemPrompt.reason}`, { hint: support.systemPrompt.hint });
  }
}

