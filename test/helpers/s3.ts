/**
 * A real S3 server for the remote tests, found in this order:
 *
 * 1. `S3_TEST_ENDPOINT` (+ `S3_TEST_ACCESS_KEY` / `S3_TEST_SECRET_KEY`, default minioadmin), as CI
 *    sets it after `.ci/run` started Ceph RGW with `test/setup/start-ceph-rgw.sh`;
 * 2. MinIO through testcontainers, when a Docker engine answers and `@testcontainers/minio` is
 *    installed (it is optional: imported dynamically, skipped when absent);
 * 3. a Ceph RGW already answering on 127.0.0.1:7480 (started earlier with the script above).
 *
 * Under `CI=true` having none is an error (the suite must run there); elsewhere the S3 suites are
 * skipped with a loud message saying how to get a server.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

export interface S3TestServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  source: string;
  stop?: () => Promise<void>;
}

const CEPH_DEFAULT = 'http://127.0.0.1:7480';
const HOW_TO =
  'Start one with `sudo test/setup/start-ceph-rgw.sh` (Debian, ~30 s) and rerun with ' +
  `S3_TEST_ENDPOINT=${CEPH_DEFAULT}, or point S3_TEST_ENDPOINT at any S3 server.`;

/** Whether something speaks HTTP at `url` (any status counts). */
function answers(url: string, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function dockerAnswers(): Promise<boolean> {
  const socketPath = process.env.DOCKER_HOST?.startsWith('unix://')
    ? process.env.DOCKER_HOST.slice('unix://'.length)
    : '/var/run/docker.sock';
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 1500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function minioContainer(): Promise<S3TestServer | undefined> {
  if (!(await dockerAnswers())) return undefined;
  const name = '@testcontainers/minio';
  interface StartedMinio {
    getConnectionUrl(): string;
    getUsername(): string;
    getPassword(): string;
    stop(): Promise<unknown>;
  }
  let mod: { MinioContainer: new (image: string) => { start(): Promise<StartedMinio> } };
  try {
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch {
    return undefined; // optional, not installed
  }
  const started = await Promise.race([
    new mod.MinioContainer('minio/minio:RELEASE.2024-08-17T01-24-54Z').start(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('MinIO start timed out')), 90_000)),
  ]);
  return {
    endpoint: started.getConnectionUrl(),
    accessKey: started.getUsername(),
    secretKey: started.getPassword(),
    source: 'MinIO (testcontainers)',
    stop: async () => {
      await started.stop();
    },
  };
}

let found: Promise<S3TestServer | undefined> | undefined;

/** The server to test against, or undefined (after a loud warning) outside CI. */
export function s3TestServer(): Promise<S3TestServer | undefined> {
  found ??= locate();
  return found;
}

async function locate(): Promise<S3TestServer | undefined> {
  const accessKey = process.env.S3_TEST_ACCESS_KEY ?? 'minioadmin';
  const secretKey = process.env.S3_TEST_SECRET_KEY ?? 'minioadmin';
  const endpoint = process.env.S3_TEST_ENDPOINT;
  if (endpoint) {
    if (!(await answers(endpoint))) throw new Error(`S3_TEST_ENDPOINT=${endpoint} does not answer`);
    return { endpoint, accessKey, secretKey, source: 'S3_TEST_ENDPOINT' };
  }
  const minio = await minioContainer();
  if (minio) return minio;
  if (await answers(CEPH_DEFAULT))
    return { endpoint: CEPH_DEFAULT, accessKey, secretKey, source: 'Ceph RGW on :7480' };
  if (process.env.CI === 'true') throw new Error(`CI=true but no S3 server could be had. ${HOW_TO}`);
  console.warn(`\n*** S3 TESTS SKIPPED: no S3 server. ${HOW_TO}\n`);
  return undefined;
}

/** An SDK client for test set-up and inspection (not the code under test). */
export function adminClient(server: S3TestServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A fresh bucket with a unique name. */
export async function createBucket(server: S3TestServer): Promise<string> {
  const bucket = `cpv-test-${randomBytes(6).toString('hex')}`;
  await adminClient(server).send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Every key in `bucket` (under `prefix`). */
export async function listKeys(server: S3TestServer, bucket: string, prefix = ''): Promise<string[]> {
  const client = adminClient(server);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Empties and deletes `bucket`. */
export async function deleteBucket(server: S3TestServer, bucket: string): Promise<void> {
  const client = adminClient(server);
  const keys = await listKeys(server, bucket);
  for (let i = 0; i < keys.length; i += 1000) {
    await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
