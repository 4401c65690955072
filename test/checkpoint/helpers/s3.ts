/**
 * S3 for the checkpoint tests, on top of the shared harness (`test/helpers/s3.ts`: S3_TEST_ENDPOINT,
 * else a server found on this machine; skipped loudly outside CI when none): an AWS credentials
 * file for it, and a bucket policy that makes a bucket unwritable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeleteBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { adminClient, type S3TestServer } from '../../helpers/s3.js';
import { tempDir } from '../../helpers/tmp.js';

export { createBucket, listKeys, type S3TestServer, s3TestServer } from '../../helpers/s3.js';

/** A credentials file with profile `cpvtest` (right keys) and `wrong` (bad secret). */
export function credentialsFile(server: S3TestServer): string {
  const file = path.join(tempDir('cpv-aws-'), 'credentials');
  fs.writeFileSync(
    file,
    `[cpvtest]\naws_access_key_id = ${server.accessKey}\naws_secret_access_key = ${server.secretKey}\n\n` +
      `[wrong]\naws_access_key_id = ${server.accessKey}\naws_secret_access_key = not-the-secret\n`,
  );
  return file;
}

/** A bucket policy that denies every object write (to test an unwritable bucket). */
export async function denyWrites(server: S3TestServer, bucket: string): Promise<void> {
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Deny', Principal: '*', Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
  await adminClient(server).send(
    new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }),
  );
}

export async function allowWrites(server: S3TestServer, bucket: string): Promise<void> {
  await adminClient(server).send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
}
