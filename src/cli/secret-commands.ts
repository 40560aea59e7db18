/**
 * `baton secret set|list|rm --tenant T`: a tenant's own secrets (an API key of theirs), kept encrypted in the store
 * and put into the environment of that tenant's runs by the workers. A value is read from stdin (or a prompt on a
 * terminal), never from argv, where `ps` and shell history would show it.
 */
import type { Command } from 'commander';
import { BatonError } from '../errors.js';
import { assertSecretName } from '../store/secret-names.js';
import { withStore, type GlobalOptions } from './context.js';

async function readSecretValue(name: string): Promise<string> {
  const input = process.stdin;
  let value: string;
  if (input.isTTY) {
    process.stderr.write(`value of ${name} (not shown; end with Enter): `);
    value = await new Promise<string>((resolve, reject) => {
      let typed = '';
      input.setRawMode(true);
      input.resume();
      const done = (result: string | Error): void => {
        input.setRawMode(false);
        input.pause();
        input.off('data', onData);
        process.stderr.write('\n');
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onData = (chunk: Buffer): void => {
        for (const character of chunk.toString('utf8')) {
          if (character === '\r' || character === '\n') return done(typed);
          if (character === '\u0003') return done(new BatonError('USAGE', 'cancelled', {}));
          if (character === '\u007f' || character === '\b') typed = typed.slice(0, -1);
          else typed += character;
        }
      };
      input.on('data', onData);
    });
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(chunk as Buffer);
    value = Buffer.concat(chunks).toString('utf8');
    // `echo VALUE | baton secret set …` ends the value with a newline that is not part of it.
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    else if (value.endsWith('\n')) value = value.slice(0, -1);
  }
  if (value === '' || value.includes('\0')) {
    throw new BatonError('USAGE', value === '' ? `no value for ${name} was given` : `the value of ${name} holds a NUL character`, {
      hint: `pipe it in: \`baton secret set --tenant T ${name} < file\`, or type it at the prompt`,
    });
  }
  return value;
}

export function registerSecretCommands(program: Command, globals: () => GlobalOptions): void {
  const secret = program.command('secret').description("a tenant's secrets, kept encrypted and given to that tenant's runs as environment variables");

  secret
    .command('set')
    .description('store a secret (value from stdin or a prompt, never argv); the store must be encrypted')
    .requiredOption('--tenant <tenant>', 'the tenant whose runs get it')
    .argument('<name>', 'the environment variable the runs see, e.g. OPENAI_API_KEY')
    .action(async (name: string, options: { tenant: string }) => {
      const { assertTenantName } = await import('../fleet/tokens.js');
      assertTenantName(options.tenant);
      assertSecretName(name);
      await withStore(globals(), async ({ store }) => {
        // Checked before asking for the value: a plaintext store refuses without making anyone type a secret.
        const { SqlStore, secretsNeedEncryption } = await import('../store/sql-store.js');
        if (store instanceof SqlStore && !store.encryptionStatus.encrypted) throw secretsNeedEncryption(store.location);
        const value = await readSecretValue(name);
        await store.setTenantSecret(options.tenant, name, value);
        process.stderr.write(`stored secret ${name} of tenant ${options.tenant} (encrypted); the tenant's next runs get it\n`);
      });
    });

  secret
    .command('list')
    .description("the names of a tenant's secrets (never their values)")
    .requiredOption('--tenant <tenant>', 'the tenant')
    .action(async (options: { tenant: string }) => {
      const { assertTenantName } = await import('../fleet/tokens.js');
      assertTenantName(options.tenant);
      await withStore(globals(), async ({ store }) => {
        const names = await store.listTenantSecretNames(options.tenant);
        if (names.length === 0) process.stderr.write(`tenant ${options.tenant} has no secrets; add one with \`baton secret set --tenant ${options.tenant} NAME\`\n`);
        for (const name of names) process.stdout.write(`${name}\n`);
      });
    });

  secret
    .command('rm')
    .description("remove a tenant's secret")
    .requiredOption('--tenant <tenant>', 'the tenant')
    .argument('<name>', 'the secret')
    .action(async (name: string, options: { tenant: string }) => {
      const { assertTenantName } = await import('../fleet/tokens.js');
      assertTenantName(options.tenant);
      assertSecretName(name);
      await withStore(globals(), async ({ store }) => {
        if (!(await store.deleteTenantSecret(options.tenant, name))) {
          throw new BatonError('USAGE', `tenant ${options.tenant} has no secret ${name}`, { hint: `list them with \`baton secret list --tenant ${options.tenant}\`` });
        }
        process.stderr.write(`removed secret ${name} of tenant ${options.tenant}\n`);
      });
    });
}
