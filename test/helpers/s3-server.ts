/**
 * A real S3-protocol server for tests: s3rver (npm, pinned), run as its own node process on 127.0.0.1 with a
 * random port and a temporary directory, stopped and deleted afterwards. `env` holds the AWS variables that
 * point baton (and the SDK) at it; s3rver's one account is S3RVER/S3RVER.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { openS3ChunkBodies } from '../../src/store/s3-bodies.js';
import type { ObjectBodies, ObjectBodiesOptions } from '../../src/store/sql/object-bodies.js';

export interface S3Server {
  endpoint: string;
  /** AWS_ENDPOINT_URL, AWS_REGION and s3rver's credentials. */
  env: Record<string, string>;
  /** Where s3rver keeps its buckets on disk (each object is a file under `<bucket>/<key>._S3rver_object`). */
  directory: string;
  createBucket(name: string): Promise<void>;
  /** A fresh `s3://bucket/<random prefix>` in the test bucket: one per store, so stores never share objects. */
  freshLocation(): string;
  /** Chunk bodies at `location` (default: a fresh one), opened the way `--blobs` opens them; every body to the bucket unless `inlineBelowBytes` says otherwise. */
  bodies(location?: string, options?: ObjectBodiesOptions): Promise<ObjectBodies>;
  /** The keys of the objects under `location`, from the server's directory. */
  objectKeys(location: string): Promise<string[]>;
  stop(): Promise<void>;
}

export const TEST_BUCKET = 'baton-test';

/** Starts s3rver before the tests of the file (or describe block) that calls it and stops it after them; the getter gives the server once started. */
export function useS3Server(): () => S3Server {
  let server: S3Server | undefined;
  beforeAll(async () => {
    server = await startS3Server();
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the S3 server is not started yet: use it inside a test or hook');
    return server;
  };
}

export async function startS3Server(): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'baton-s3rver-'));
  const script = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const child: ChildProcess = spawn(process.execPath, [script, '-d', directory, '-a', '127.0.0.1', '-p', '0', '-s', '--no-vhost-buckets'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(directory, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const match = /listening on [\d.]+:(\d+)/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`s3rver did not start in 20 s: ${stderr}`)), 20_000).unref();
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  const createBucket = async (name: string): Promise<void> => {
    const s3 = await import('@aws-sdk/client-s3');
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // the test process's own client: no Node 22 notice
    const client = new s3.S3Client({ endpoint, region: env.AWS_REGION, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      await client.send(new s3.CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  };
  await createBucket(TEST_BUCKET);
  const freshLocation = (): string => `s3://${TEST_BUCKET}/store-${randomUUID().slice(0, 8)}`;
  return {
    endpoint,
    env,
    directory,
    createBucket,
    freshLocation,
    bodies: (location = freshLocation(), options = {}) => openS3ChunkBodies(location, { ...process.env, ...env }, { inlineBelowBytes: 0, ...options }),
    async objectKeys(location) {
      const [, bucket, prefix] = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location)!;
      const folder = join(directory, bucket!, prefix!);
      const names = await readdir(folder).catch(() => [] as string[]);
      return names.filter((name) => name.endsWith('._S3rver_object')).map((name) => name.replace(/\._S3rver_object$/, '')).sort();
    },
    stop,
  };
}
