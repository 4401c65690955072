/**
 * The real S3 server the tests use (Ceph RGW on 127.0.0.1:7480 unless S3_TEST_ENDPOINT says
 * otherwise), an AWS credentials file pointing at it, and fresh buckets.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { tempDir } from '../../helpers/tmp.js';

export const S3_ENDPOINT = process.env.S3_TEST_ENDPOINT ?? 'http://127.0.0.1:7480';
export const S3_KEY = process.env.S3_TEST_ACCESS_KEY ?? 'minioadmin';
export const S3_SECRET = process.env.S3_TEST_SECRET_KEY ?? 'minioadmin';

export function s3Client(): S3Client {
  return new S3Client({
    endpoint: S3_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
  });
}

/** A credentials file with profile `cpvtest` (right keys) and `wrong` (bad secret). */
export function credentialsFile(): string {
  const file = path.join(tempDir('cpv-aws-'), 'credentials');
  fs.writeFileSync(
    file,
    `[cpvtest]\naws_access_key_id = ${S3_KEY}\naws_secret_access_key = ${S3_SECRET}\n\n` +
      `[wrong]\naws_access_key_id = ${S3_KEY}\naws_secret_access_key = not-the-secret\n`,
  );
  return file;
}

export async function freshBucket(prefix = 'cpv-cp'): Promise<string> {
  const name = `${prefix}-${randomBytes(5).toString('hex')}`;
  const client = s3Client();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return name;
}

/** Every key in a bucket. */
export async function listKeys(bucket: string, prefix = ''): Promise<string[]> {
  const client = s3Client();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return keys;
}

/** A bucket policy that denies every write (to test an unwritable bucket). */
export async function denyWrites(bucket: string): Promise<void> {
  const client = s3Client();
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Deny', Principal: '*', Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  client.destroy();
}

export async function allowWrites(bucket: string): Promise<void> {
  const client = s3Client();
  await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  client.destroy();
}
