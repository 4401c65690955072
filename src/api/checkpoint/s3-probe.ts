/**
 * Checks that the configured bucket can be written: puts a small probe object under the bucket's
 * `.cpv-probe/` prefix and deletes it again. The AWS SDK is loaded only here, when a check runs.
 */
import { randomBytes } from 'node:crypto';
import { CpvError } from '../../errors.js';
import { proxyAgents, proxyConfigured } from '../../proxy.js';
import type { AwsSettings } from './config-file.js';

export const DEFAULT_REGION = 'us-east-1';
const PROBE_CONNECT_TIMEOUT_MS = 10_000;

type S3Module = typeof import('@aws-sdk/client-s3');

async function makeClient(
  aws: AwsSettings,
  env: NodeJS.ProcessEnv,
): Promise<{ s3: S3Module; client: InstanceType<S3Module['S3Client']> }> {
  const s3 = await import('@aws-sdk/client-s3');
  const { fromIni } = await import('@aws-sdk/credential-providers');
  const named = aws.profile !== undefined || aws.credentialPath !== undefined;
  const client = new s3.S3Client({
    region: aws.region ?? DEFAULT_REGION,
    ...(aws.endpoint ? { endpoint: aws.endpoint, forcePathStyle: true } : {}),
    // Without a profile or file, the SDK's default chain (env vars, ~/.aws, instance roles) applies.
    ...(named
      ? {
          credentials: fromIni({
            ...(aws.profile ? { profile: aws.profile } : {}),
            ...(aws.credentialPath ? { filepath: aws.credentialPath } : {}),
            ignoreCache: true,
          }),
        }
      : {}),
    maxAttempts: 2,
    // Through the proxy the environment names, as the transfers themselves go (src/remote/s3.ts).
    ...(proxyConfigured(env)
      ? {
          requestHandler: proxyAgents(env, {
            http: { keepAlive: true },
            https: { keepAlive: true },
            timeoutMs: PROBE_CONNECT_TIMEOUT_MS,
          }),
        }
      : {}),
  });
  return { s3, client };
}

const AUTH_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken']);

/** Maps an SDK failure to one clear CpvError; never includes a secret (the SDK's messages have none). */
export function s3Failure(err: unknown, bucket: string): CpvError {
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (AUTH_ERRORS.has(name)) {
    return new CpvError('E_AUTH', `S3 refused the credentials for bucket '${bucket}' (${name})`, {
      hint: 'Check the access key and secret in the AWS credentials file and profile (cpv setup).',
      cause: err,
    });
  }
  if (name === 'AccessDenied' || status === 403) {
    return new CpvError('E_AUTH', `S3 denied writing to bucket '${bucket}' (${name || status})`, {
      hint: 'The credentials work but may not write this bucket: ask for s3:PutObject/DeleteObject on it.',
      cause: err,
    });
  }
  if (name === 'NoSuchBucket' || status === 404) {
    return new CpvError('E_REMOTE_NOT_FOUND', `S3 bucket '${bucket}' does not exist`, {
      hint: 'Create the bucket, or fix its name with cpv setup --bucket.',
      cause: err,
    });
  }
  if (name === 'CredentialsProviderError' || /profile|credential/i.test(e?.message ?? '')) {
    return new CpvError('E_CONFIG_MISSING', `no usable AWS credentials: ${e?.message ?? name}`, {
      hint: 'Run `cpv setup` with --credential-path and --profile naming an existing profile.',
      cause: err,
    });
  }
  const net = e?.code ?? name;
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN|TimeoutError/.test(net)) {
    return new CpvError('E_NETWORK', `cannot reach S3 for bucket '${bucket}' (${net})`, {
      hint: 'Check the endpoint URL (cpv setup --endpoint) and the network.',
      cause: err,
    });
  }
  return new CpvError('E_REMOTE_IO', `S3 probe on bucket '${bucket}' failed: ${e?.message ?? name}`, {
    hint: 'Check the endpoint, region and bucket (cpv setup).',
    cause: err,
  });
}

/** Puts then deletes a probe object; resolves with its key, or throws a mapped CpvError. */
export async function probeBucket(
  aws: AwsSettings,
  prefix = '',
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const bucket = aws.bucket;
  if (!bucket) {
    throw new CpvError('E_CONFIG_MISSING', 'no S3 bucket is configured', {
      hint: 'Run `cpv setup` (or set CPV_S3_BUCKET).',
    });
  }
  const { s3, client } = await makeClient(aws, env);
  const key = `${prefix}.cpv-probe/${randomBytes(8).toString('hex')}`;
  try {
    await client.send(new s3.PutObjectCommand({ Bucket: bucket, Key: key, Body: 'cpv probe\n' }));
    await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return key;
  } catch (err) {
    throw s3Failure(err, bucket);
  } finally {
    client.destroy();
  }
}
