/**
 * Object storage on S3 or an S3-compatible server (MinIO, s3rver …) for chunk bodies and workspace blobs:
 * `--blobs s3://bucket/prefix` or BATON_BLOBS. Endpoint, region and credentials come from the usual AWS
 * variables (AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1;
 * the SDK's credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE …). Requests are path-style
 * (`http://host/bucket/key`) when AWS_S3_FORCE_PATH_STYLE=true, or when the endpoint is an IP address or
 * localhost (where virtual-hosted names cannot resolve); virtual-hosted otherwise, as AWS prefers.
 *
 * @aws-sdk/client-s3 is imported only here, and only when object storage is configured: `baton run` without
 * --blobs never loads it. What is kept and how it is collected is sql/object-bodies.ts's.
 */
import { isIP } from 'node:net';
import { BatonError, errorMessage } from '../errors.js';
import { ObjectBodies, type ObjectBodiesOptions, type ObjectStorage } from './sql/object-bodies.js';

export interface S3Location {
  bucket: string;
  /** Without leading or trailing slashes; '' for the bucket's root. */
  prefix: string;
  /** `?inline-below=BYTES`: bodies smaller than this stay in the rows (default 64 KB; 0: every body to the bucket). */
  inlineBelowBytes: number | undefined;
}

const USAGE_HINT = 'give --blobs (or BATON_BLOBS) as s3://bucket or s3://bucket/prefix (optionally ?inline-below=BYTES)';

/** `s3://bucket/prefix[?inline-below=BYTES]` → bucket, prefix and threshold; a USAGE error for anything else. */
export function parseBlobsUrl(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]+)(\/[^?#]*)?(?:\?inline-below=(\d{1,12}))?$/.exec(url);
  const bucket = match?.[1] ?? '';
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new BatonError('USAGE', `object storage ${JSON.stringify(url.slice(0, 200))} is not an s3://bucket/prefix URL`, { hint: USAGE_HINT });
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket, prefix, inlineBelowBytes: match[3] === undefined ? undefined : Number(match[3]) };
}

/** Where requests go, from the AWS variables (see the top of this file). */
export function s3ClientSettings(env: NodeJS.ProcessEnv): { endpoint: string | undefined; region: string; forcePathStyle: boolean } {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  let host = '';
  try {
    host = endpoint ? new URL(endpoint).hostname.replace(/^\[|\]$/g, '') : '';
  } catch {
    throw new BatonError('USAGE', `the object storage endpoint ${JSON.stringify(endpoint)} is not a URL`, { hint: 'set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) to e.g. http://127.0.0.1:9000' });
  }
  const forced = /^(1|true|yes)$/i.test(env.AWS_S3_FORCE_PATH_STYLE ?? '');
  return { endpoint, region, forcePathStyle: forced || isIP(host) !== 0 || host === 'localhost' };
}

/**
 * Chunk bodies in the bucket that `url` names. Checks the bucket answers (HeadBucket) first, so that a wrong
 * bucket, endpoint or credentials fail when the store is opened, with one line saying which.
 */
export async function openS3ChunkBodies(url: string, env: NodeJS.ProcessEnv = process.env, options: ObjectBodiesOptions = {}): Promise<ObjectBodies> {
  const storage = await openS3Storage(url, env);
  const { inlineBelowBytes } = parseBlobsUrl(url);
  return new ObjectBodies(storage, { ...(inlineBelowBytes === undefined ? {} : { inlineBelowBytes }), ...options });
}

export async function openS3Storage(url: string, env: NodeJS.ProcessEnv = process.env): Promise<ObjectStorage> {
  const { bucket, prefix } = parseBlobsUrl(url);
  const location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  const settings = s3ClientSettings(env);
  const s3 = await import('@aws-sdk/client-s3');
  // The SDK warns on stderr, on every Node below 22, that its releases from 2027 will need Node 22: not the user's
  // business in the middle of `baton run` (the version is pinned). The variable is set only around the first request.
  const quiet = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const wasQuiet = process.env[quiet];
  process.env[quiet] = 'true';
  const client = new s3.S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    // The variables of `env` (the process's by default); without them the SDK's chain (profiles, instance roles).
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
      : {}),
    // Every body is verified by its sha256 on read; the SDK's default CRC32 headers and trailers are refused by
    // some S3-compatible servers. verified with s3rver 3.7.1: WHEN_REQUIRED uploads and reads back cleanly.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  });
  const where = settings.endpoint ? `${location} at ${settings.endpoint}` : location;
  const keyOf = (sha256: string): string => (prefix ? `${prefix}/${sha256}` : sha256);
  const failure = (doing: string, error: unknown): BatonError => describeFailure(where, bucket, doing, error);

  try {
    await client.send(new s3.HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    client.destroy();
    throw failure('opening the bucket', error);
  } finally {
    if (wasQuiet === undefined) delete process.env[quiet];
    else process.env[quiet] = wasQuiet;
  }

  return {
    location,
    async put(sha256, body) {
      await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: keyOf(sha256), Body: body, ContentLength: body.length, ContentType: 'application/octet-stream' })).catch((error: unknown) => {
        throw failure(`uploading ${sha256}`, error);
      });
    },
    async get(sha256) {
      try {
        const response = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: keyOf(sha256) }));
        const bytes = await response.Body!.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        throw failure(`reading ${sha256}`, error);
      }
    },
    async delete(sha256) {
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: keyOf(sha256) })).catch((error: unknown) => {
        throw failure(`deleting ${sha256}`, error);
      });
    },
    close: () => client.destroy(),
  };
}

/** One line that says what failed: no such bucket, no such object, refused credentials, or an endpoint that does not answer. */
function describeFailure(where: string, bucket: string, doing: string, error: unknown): BatonError {
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  const credentialsHint = 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for this endpoint';
  let detail: string;
  let hint: string;
  if (name === 'NoSuchBucket' || (doing === 'opening the bucket' && status === 404)) {
    detail = `there is no bucket ${bucket}`;
    hint = 'create the bucket, or fix the bucket in --blobs / BATON_BLOBS';
  } else if (name === 'NoSuchKey' || status === 404) {
    detail = 'the object is missing';
    hint = 'the bucket lost an object that a row names: restore it from a backup of the bucket';
  } else if (status === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || name === 'CredentialsProviderError') {
    detail = `access denied (${String(name)})`;
    hint = credentialsHint;
  } else if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code)) {
    detail = `the endpoint does not answer (${code})`;
    hint = 'check AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) and that the object storage server is running';
  } else {
    detail = errorMessage(error) || String(name);
    hint = `check --blobs / BATON_BLOBS, AWS_ENDPOINT_URL and AWS_REGION, and ${credentialsHint.replace('check ', '')}`;
  }
  return new BatonError('BLOB_STORE_ERROR', `object storage ${where}: ${doing}: ${detail}`, { hint, cause: error });
}
