/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, started on a free loopback
 * port with durability switched off (fsync, synchronous_commit, full_page_writes), trust auth, stopped with
 * `pg_ctl stop -m immediate` and deleted afterwards. `initdb` refuses to run as root, so as root the server
 * binaries run as the `postgres` user through `runuser`.
 *
 * The cluster lives in /dev/shm when that has room (BATON_PG_TMPDIR overrides), else in the temp dir.
 * Needs Debian's PostgreSQL (`apt-get install -y postgresql`; binaries under /usr/lib/postgresql/<major>/bin),
 * or PG_BIN naming a directory that holds `initdb` and `pg_ctl`. Without it the helper fails loudly: tests that
 * need PostgreSQL never skip silently.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { access, chown, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:PORT/baton_test`: a database created for the caller. */
  url: string;
  /** Creates another empty database (optionally a copy of `template`) and returns its URL. */
  createDatabase(name: string, options?: { template?: string }): Promise<string>;
  /** Drops a database, closing any connections still open to it. */
  dropDatabase(name: string): Promise<void>;
  /** Stops the server (immediate mode) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'install PostgreSQL with `apt-get update && apt-get install -y postgresql` (Debian), or set PG_BIN to the directory holding initdb and pg_ctl';
const SUPERUSER = 'postgres';
const DATABASE = 'baton_test';

/** Clusters still running, stopped on process exit if a test run forgets (or crashes before) `stop()`. */
const running = new Set<{ dataDir: string; root: string }>();
let exitHookInstalled = false;

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = findBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : undefined;

  // As root the directory is handed to the postgres user, who must be able to reach it (/dev/shm, /tmp).
  const root = await mkdtemp(join(await parentDir(), 'baton-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  const entry = { dataDir, root };
  let started = false;
  try {
    if (owner) await chown(root, owner.uid, owner.gid);
    const run = (tool: string, args: string[]) => runTool(asRoot, join(bin, tool), args);

    await run('initdb', ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions']).catch((error: unknown) => {
      throw new Error(`initdb failed: ${message(error)}`);
    });
    // Loopback only, socket in our own directory (never /var/run/postgresql), no durability: a test cluster.
    const settings = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${root}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      "log_min_messages = 'warning'",
    ];
    await appendConf(dataDir, settings);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await run('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', `-p ${port}`]);
        break;
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        // Another process may have taken the port between our probe and the server's bind: try another.
        if (attempt < 3 && /could not bind|address already in use/i.test(log)) continue;
        throw new Error(`pg_ctl start failed: ${message(error)}\n${log.split('\n').slice(-15).join('\n')}`);
      }
    }
    started = true;
    running.add(entry);
    installExitHook();

    const adminUrl = (database: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
    const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
      const client = new pg.Client({ connectionString: adminUrl('postgres') });
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    };

    const createDatabase = async (name: string, options: { template?: string } = {}): Promise<string> => {
      const template = options.template ? ` TEMPLATE ${quoteIdentifier(options.template)} STRATEGY FILE_COPY` : '';
      await admin((client) => client.query(`CREATE DATABASE ${quoteIdentifier(name)}${template}`));
      return adminUrl(name);
    };
    const dropDatabase = async (name: string): Promise<void> => {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`));
    };

    const url = await createDatabase(DATABASE);
    let stopping: Promise<void> | undefined;
    return {
      url,
      createDatabase,
      dropDatabase,
      stop: () =>
        (stopping ??= (async () => {
          running.delete(entry);
          await run('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']).catch(() => killPostmaster(dataDir));
          await rm(root, { recursive: true, force: true });
        })()),
    };
  } catch (error) {
    running.delete(entry);
    if (started) await runTool(asRoot, join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => killPostmaster(dataDir));
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A RAM-backed /dev/shm when it has room (CREATE DATABASE, once per test, is about 3× faster there), else the
 * temp dir. Docker's default 64 MB /dev/shm is too small: PostgreSQL's own shared memory lives there too.
 */
async function parentDir(): Promise<string> {
  const override = process.env['BATON_PG_TMPDIR'];
  if (override) return override;
  try {
    const stats = await statfs('/dev/shm');
    await access('/dev/shm', constants.W_OK);
    if (stats.bavail * stats.bsize >= 2 * 1024 ** 3) return '/dev/shm';
  } catch {
    // No /dev/shm here.
  }
  return tmpdir();
}

/** The newest installed PostgreSQL's bin directory (PG_BIN wins), or a clear error naming the install command. */
function findBinDir(): string {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  const fromEnv = process.env['PG_BIN'];
  if (fromEnv) {
    if (has(fromEnv)) return fromEnv;
    throw new Error(`PG_BIN=${fromEnv} does not hold initdb and pg_ctl: ${INSTALL_HINT}`);
  }
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of majors) if (has(join(base, major, 'bin'))) return join(base, major, 'bin');
  throw new Error(`PostgreSQL is not installed (no initdb under ${base}/*/bin): ${INSTALL_HINT}`);
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await exec('id', [flag, 'postgres'])).trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error(`running as root, but there is no postgres user to run initdb as (the Debian package creates it): ${INSTALL_HINT}`);
  }
}

/** Runs a server tool: as the postgres user when we are root (initdb refuses root), else as ourselves. */
function runTool(asRoot: boolean, tool: string, args: string[]): Promise<string> {
  return asRoot ? exec('runuser', ['-u', 'postgres', '--', tool, ...args]) : exec(tool, args);
}

function exec(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // cwd: the postgres user cannot read root's working directory, and pg_ctl complains about it.
    execFile(file, args, { cwd: '/', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${(stderr || stdout || error.message).trim()}`));
      else resolve(stdout);
    });
  });
}

async function appendConf(dataDir: string, lines: string[]): Promise<void> {
  const path = join(dataDir, 'postgresql.conf');
  const current = await readFile(path, 'utf8');
  await writeFile(path, `${current}\n# baton test cluster\n${lines.join('\n')}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Last resort when pg_ctl cannot stop the server: SIGQUIT to the postmaster is an immediate shutdown. */
function killPostmaster(dataDir: string): void {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGQUIT');
  } catch {
    // Not running (no pid file, or the process is gone).
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const entry of running) {
      killPostmaster(entry.dataDir);
      rmSync(entry.root, { recursive: true, force: true });
    }
  });
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `pg_dump` of a database, as a thief with a backup would have it (the server's own version of the tool). */
export async function pgDump(url: string): Promise<Buffer> {
  const { stdout } = await new Promise<{ stdout: Buffer }>((resolvePromise, reject) => {
    execFile(join(findBinDir(), 'pg_dump'), ['--dbname', url], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (error, out) => (error ? reject(error) : resolvePromise({ stdout: out })));
  });
  return stdout;
}
