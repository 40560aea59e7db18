/**
 * A separate process for the file-mode tests in sqlite.test.ts, so the umask it sets touches nothing else:
 * sets the umask, opens the store, writes a conversation (so the -wal and -shm files exist), and prints the
 * modes of the store's files and of the directories named after the path, as one JSON line, while still open.
 * argv: UMASK_OCTAL STORE_PATH [DIRECTORY…]
 */
import { statSync } from 'node:fs';
import { newConversationId } from '../../src/ids.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const [umask, path, ...directories] = process.argv.slice(2) as [string, string, ...string[]];
process.umask(Number.parseInt(umask, 8));
const store = await openSqliteStore(path);
await store.createConversation({ id: newConversationId(), harness: 'codex', title: 't', cwd: '/work' });
const mode = (file: string): string => (statSync(file).mode & 0o7777).toString(8);
const modes = Object.fromEntries([path, `${path}-wal`, `${path}-shm`, ...directories].map((file) => [file, mode(file)]));
await store.close();
process.stdout.write(`${JSON.stringify(modes)}\n`);
