/** `baton keys generate|status|enable|rotate`: the master key of an encrypted store (see src/store/encryption.ts). */
import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { BatonError, errorSummary } from '../errors.js';
import { generateKeyText, MASTER_KEY_VARIABLE, parseKey, readKeyFile, type KeyMaterial } from '../store/master-key.js';
import { MasterKey } from '../store/encryption.js';
import { SqlStore } from '../store/sql-store.js';
import type { Store } from '../store/store.js';
import { openContext, type GlobalOptions } from './context.js';

/** Where `baton keys rotate` takes the new key from when no --new-key-file is given. */
export const NEW_MASTER_KEY_VARIABLE = 'BATON_NEW_MASTER_KEY';

function sqlStore(store: Store): SqlStore {
  if (!(store instanceof SqlStore)) throw new BatonError('USAGE', `${store.location} is not a SQL store`, { hint: 'keys belong to SQLite and PostgreSQL stores' });
  return store;
}

/** Writes `text` to a new file, 0600 from the start; never over an existing file (it may be the only copy of a key). */
async function writeNewPrivateFile(path: string, text: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new BatonError('USAGE', exists ? `${path} exists already: a key is never written over another` : `cannot create ${path}: ${errorSummary(error)}`, {
      hint: exists ? 'choose a new file name' : 'check the directory exists and is writable',
    });
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function registerKeyCommands(program: Command, globals: () => GlobalOptions): void {
  const keys = program.command('keys').description('the master key of an encrypted store: generate, status, enable, rotate');

  keys
    .command('generate')
    .description('make a new master key (32 random bytes, base64): printed, or written to a new 0600 file')
    .option('-o, --output <file>', 'write it to this new file (mode 0600) instead of printing it')
    .action(async (options: { output?: string }) => {
      const text = generateKeyText();
      const id = new MasterKey(parseKey(text, 'the new key')).id;
      if (options.output) {
        await writeNewPrivateFile(options.output, `${text}\n`);
        process.stderr.write(`wrote master key ${id} to ${options.output}; keep a copy somewhere safe: without it the store cannot be read\n`);
      } else {
        process.stderr.write(`master key ${id} (keep it secret, and a copy somewhere safe):\n`);
        process.stdout.write(`${text}\n`);
      }
    });

  keys
    .command('status')
    .description('whether the store is encrypted, and the id of its master key')
    .action(async () => {
      const { store } = await openContext(globals());
      try {
        const status = sqlStore(store).encryptionStatus;
        process.stdout.write(status.encrypted ? `${store.location}: encrypted, master key ${status.keyId}\n` : `${store.location}: not encrypted\n`);
      } finally {
        await store.close();
      }
    });

  keys
    .command('enable')
    .description(`encrypt an existing plaintext store in place (one transaction) under the key of ${MASTER_KEY_VARIABLE} or --master-key-file`)
    .action(async () => {
      const { store } = await openContext(globals(), { allowPlaintextWithKey: true });
      try {
        const sql = sqlStore(store);
        const { conversations, keyId } = await sql.enableEncryption();
        process.stderr.write(`${store.location}: encrypted ${conversations} conversation(s) under master key ${keyId}; from now on it opens only with that key\n`);
        // The freed pages (and SQLite's -wal file) still hold the plaintext rows: the file is rewritten without them.
        if (await sql.discardFreedPages()) {
          process.stderr.write('note: copies of the file taken before (backups) still hold the plaintext\n');
        } else {
          process.stderr.write('note: PostgreSQL keeps the old row versions until VACUUM FULL; backups taken before still hold the plaintext\n');
        }
      } finally {
        await store.close();
      }
    });

  keys
    .command('rotate')
    .description(`re-wrap every data key under a new master key (one transaction; transcripts are not rewritten): the old key no longer opens the store`)
    .option('--new-key-file <file>', `the new master key (mode 0600; default: $${NEW_MASTER_KEY_VARIABLE})`)
    .action(async (options: { newKeyFile?: string }) => {
      let next: KeyMaterial;
      if (options.newKeyFile) next = await readKeyFile(options.newKeyFile, 'new key file');
      else {
        const text = process.env[NEW_MASTER_KEY_VARIABLE];
        delete process.env[NEW_MASTER_KEY_VARIABLE];
        if (!text) throw new BatonError('USAGE', `baton keys rotate needs the new key: --new-key-file FILE or $${NEW_MASTER_KEY_VARIABLE}`, { hint: 'make one with `baton keys generate --output FILE`' });
        next = parseKey(text, `$${NEW_MASTER_KEY_VARIABLE}`);
      }
      const { store } = await openContext(globals());
      try {
        const rotated = await sqlStore(store).rotateMasterKey(next);
        process.stderr.write(`${store.location}: re-wrapped ${rotated.dataKeys} data key(s), master key ${rotated.from} → ${rotated.to}; the old key no longer opens it: restart every baton serve and worker with the new one\n`);
      } finally {
        next.bytes.fill(0);
        await store.close();
      }
    });
}
