/**
 * An S3 remote (`s3://bucket/prefix`), for AWS and S3-compatible servers (MinIO, Ceph RGW), with
 * DVC's remote options (dvc-compat §5.4).
 *
 * - Credentials: explicit keys from the config, else the AWS SDK's standard chain (env, shared
 *   profiles incl. SSO, `credentialpath`/`configpath`, container and instance roles);
 *   `allow_anonymous_login` sends unsigned requests.
 * - `endpointurl` selects a custom server and path-style addressing; checksums are computed and
 *   validated only when an operation requires them, which every S3-compatible server accepts.
 * - Objects up to one part are sent with one PutObject from memory (so the SDK can retry them);
 *   bigger ones go up as multipart uploads (s3-parts.ts) with parts of max(5 MiB, size / 10,000)
 *   (5 TiB objects fit in S3's 10,000 parts), `jobs` parts in flight, one large object at a time:
 *   memory stays near `jobs × part size` whatever the file sizes.
 * - A failed or cancelled multipart upload is aborted. One left behind by a killed process is
 *   resumed from its parts on the next push of the key (keys are content addresses, so its parts
 *   hold the same bytes; each is checked by MD5), and no other upload of a key outlives its object.
 * - With `endpointurl`, object reads and small-object writes go straight over HTTP, signed here
 *   (s3-direct.ts): on a server nearby the SDK's per-request CPU was the bottleneck. Ranges go
 *   over node:http(s); whole small objects, read (fetch's `getSmall`) or written (`putSmall`),
 *   over a lighter HTTP/1.1 client still (http1.ts). Anything but a clean answer is asked again
 *   through the SDK.
 * - Request-level retries (5xx, throttling, resets) use the SDK's standard jittered backoff;
 *   whole-object reads that break mid-stream are retried by the caller (`withRetry`).
 * - The bucket is looked up once before first use, so bad credentials, a missing bucket or a wrong
 *   endpoint each end as one clear error instead of one per object.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  ListPartsCommand,
  type ObjectCannedACL,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type ServerSideEncryption,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import pLimit from 'p-limit';
import { CpvError, errnoCode } from '../errors.js';
import { proxyAgents, proxyConfigured } from '../proxy.js';
import { BodyCutShort } from './http1.js';
import type { RemoteConfig } from './index.js';
import { sha256OffThread } from './off-thread.js';
import { RANGE_BYTES, takeBuffer } from './range-buffers.js';
import type { Remote, TransferCallOptions } from './remote.js';
import { abortedError, withRetry } from './retry.js';
import { type DirectResponse, DirectS3 } from './s3-direct.js';
import { bareEtag, knownPayloadHash, type PartToSend, type SendPartsOptions, sendParts } from './s3-parts.js';

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last) and its largest part count. */
export const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;
const DEFAULT_TIMEOUT_S = 60;
const SYNC_READ_MAX = 256 * 1024;

/** Part size for an object of `size` bytes: max(5 MiB, size / 10,000), rounded up to a MiB. */
export function partSizeFor(size: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

/** `s3://bucket/some/prefix` → bucket and key prefix (`some/prefix/`, or `''`). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match || match[1] === '') {
    throw new CpvError('E_REMOTE_CONFIG', `invalid S3 url '${url}'`, {
      hint: 'Write it as s3://bucket or s3://bucket/prefix.',
    });
  }
  const rest = match[2]!.replace(/^\/+|\/+$/g, '');
  return { bucket: match[1]!, prefix: rest === '' ? '' : `${rest}/` };
}

/** Per-request parameters the options add to writes (encryption, ACLs) and to reads (SSE-C). */
interface ObjectParams {
  write: Record<string, string>;
  read: Record<string, string>;
}

export interface S3RemoteOptions {
  name: string;
  url: string;
  client: S3Client;
  /**
   * The settings `client` was made from. With them each abort signal gets a client of its own
   * (see `clientFor`); without, requests pass the signal per call and the SDK re-assembles its
   * middleware for each.
   */
  settings?: S3ClientConfig;
  jobs: number | undefined;
  params?: ObjectParams;
  /** Where the endpoint is, for messages. */
  endpoint?: string | undefined;
  /** connect_timeout and read_timeout in seconds, for messages. */
  timeouts?: { connect: number; read: number };
}

export class S3Remote implements Remote {
  readonly traversePrefixLen = 3;
  readonly name: string;
  readonly url: string;
  readonly jobs: number | undefined;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly params: ObjectParams;
  private readonly endpoint: string;
  private readonly timeouts: { connect: number; read: number };
  /** One multipart upload at a time (each with `jobs` parts in flight) bounds memory. */
  private readonly largeUploads = pLimit(1);
  private bucketChecked: Promise<void> | undefined;
  private readonly settings: S3ClientConfig | undefined;
  private readonly signalClients = new WeakMap<AbortSignal, S3Client>();
  /** Object reads and small writes without the SDK, for a custom endpoint (see s3-direct.ts). */
  private direct: DirectS3 | undefined;
  /** Small writes may go the direct way: no SSE or ACL parameters that only the SDK sends. */
  private readonly directWrites: boolean;

  constructor(opts: S3RemoteOptions) {
    this.name = opts.name;
    this.url = opts.url;
    this.jobs = opts.jobs;
    this.client = opts.client;
    this.settings = opts.settings;
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(opts.url));
    this.params = opts.params ?? { write: {}, read: {} };
    this.endpoint = opts.endpoint ?? 'AWS S3';
    this.timeouts = opts.timeouts ?? { connect: DEFAULT_TIMEOUT_S, read: DEFAULT_TIMEOUT_S };
    this.direct = directS3(this.client, this.settings, this.bucket, this.params, this.timeouts);
    this.directWrites = Object.keys(this.params.write).length === 0;
  }

  /** Builds the client from a remote's config (dvc-compat §5.4); proxies are read from `env`. */
  static fromConfig(
    config: RemoteConfig,
    jobs: number | undefined,
    env: NodeJS.ProcessEnv = process.env,
  ): S3Remote {
    const options = config.options;
    const endpoint = options.get('endpointurl');
    const settings = clientConfig(config, jobs, env);
    const client = new S3Client(settings);
    hashPayloadsOffThread(client);
    return new S3Remote({
      name: config.name,
      url: config.url,
      client,
      settings,
      jobs,
      params: objectParams(config),
      endpoint,
      timeouts: {
        connect: secondsOption(config, 'connect_timeout'),
        read: secondsOption(config, 'read_timeout'),
      },
    });
  }

  async exists(key: string, opts: TransferCallOptions = {}): Promise<boolean> {
    await this.checkBucket(opts.signal);
    try {
      await this.clientFor(opts.signal).send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, ...this.params.read }),
        this.optionsFor(opts.signal),
      );
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw this.error(err, `cannot check '${key}'`, opts.signal);
    }
  }

  async *list(prefix: string, opts: TransferCallOptions = {}): AsyncIterable<string> {
    await this.checkBucket(opts.signal);
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.clientFor(opts.signal).send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: 1000,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          this.optionsFor(opts.signal),
        );
      } catch (err) {
        throw this.error(err, `cannot list '${prefix}'`, opts.signal);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key !== undefined) yield item.Key.slice(this.prefix.length);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async put(key: string, srcPath: string, size: number, opts: TransferCallOptions = {}): Promise<void> {
    await this.checkBucket(opts.signal);
    const partSize = partSizeFor(size);
    try {
      if (size <= partSize) await this.putSmall(key, srcPath, size, opts);
      else await this.largeUploads(() => this.putLarge(key, srcPath, size, partSize, opts));
    } catch (err) {
      throw this.error(err, `cannot upload '${key}'`, opts.signal);
    }
  }

  /**
   * Reads an object. The first request asks for the first range only; when the object is bigger,
   * the rest is fetched as ranges `jobs` at a time and handed on in order, so one large object
   * downloads over several connections while memory stays near `jobs × range size`.
   */
  async get(key: string, opts: TransferCallOptions = {}): Promise<Readable> {
    await this.checkBucket(opts.signal);
    const first = await this.getRange(key, 0, RANGE_BYTES - 1, opts);
    const total = first.total;
    const body =
      total === undefined || total <= RANGE_BYTES
        ? first.body
        : Readable.from(this.rangesAfterFirst(key, first.body, total, opts), { objectMode: false });
    const onBytes = opts.onBytes;
    const out = new Transform({
      transform(chunk: Buffer, _enc, done) {
        onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
    // A body that breaks mid-stream (reset, silent server) fails with the same clear error as a
    // request; the caller's retry still sees the transient cause (`isTransient` looks through it).
    body.once('error', (err) => out.destroy(this.error(err, `cannot download '${key}'`, opts.signal)));
    out.once('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  /**
   * A small object in memory, read straight (s3-direct.ts) without the stream stages `get`
   * puts around a body; `undefined` leaves the read to `get`: no direct path here, an object
   * over `maxBytes`, or any answer but the object (`get` asks the SDK, which reports it).
   */
  async getSmall(key: string, maxBytes: number, opts: TransferCallOptions = {}): Promise<Buffer | undefined> {
    if (this.direct === undefined) return undefined;
    await this.checkBucket(opts.signal);
    const bytes = await this.directBytes(key, opts.signal, (direct, fullKey) =>
      direct.getWhole(fullKey, maxBytes, opts.signal),
    );
    if (bytes !== undefined) opts.onBytes?.(bytes.length);
    return bytes;
  }

  /**
   * Bytes read through the direct path's light client (whole or a range); `undefined` when this
   * remote has no direct path, or its answer was not the bytes asked for, or it failed before
   * answering (the caller then asks node:http or the SDK).
   */
  private async directBytes(
    key: string,
    signal: AbortSignal | undefined,
    read: (direct: DirectS3, fullKey: string) => Promise<Buffer | undefined>,
  ): Promise<Buffer | undefined> {
    const direct = this.direct;
    if (direct === undefined) return undefined;
    try {
      return await read(direct, this.prefix + key);
    } catch (err) {
      // Cut short mid-body: a transient failure, retried like any reset.
      if (err instanceof BodyCutShort) throw this.error(err, `cannot download '${key}'`, signal);
      this.directFailed(err, signal);
      return undefined;
    }
  }

  /** Streams the first range, then yields the later ones in order while the next are in flight. */
  private async *rangesAfterFirst(
    key: string,
    firstBody: Readable,
    total: number,
    opts: TransferCallOptions,
  ): AsyncGenerator<Buffer> {
    const window = Math.max(1, opts.jobs ?? this.jobs ?? 4);
    const pending: Array<Promise<Buffer>> = [];
    let next = RANGE_BYTES;
    const refill = () => {
      while (pending.length < window && next < total) {
        const start = next;
        const end = Math.min(next + RANGE_BYTES, total) - 1;
        next = end + 1;
        const p = withRetry(() => this.rangeBytes(key, start, end, opts), { signal: opts.signal });
        p.catch(() => undefined); // awaited below; this only stops an early exit from leaking a rejection
        pending.push(p);
      }
    };
    refill();
    for await (const chunk of firstBody) yield chunk as Buffer;
    while (pending.length > 0) {
      const bytes = await pending.shift()!;
      refill();
      yield bytes;
    }
  }

  private async rangeBytes(
    key: string,
    start: number,
    end: number,
    opts: TransferCallOptions,
  ): Promise<Buffer> {
    const direct = await this.directBytes(key, opts.signal, (d, fullKey) =>
      d.getRangeBytes(fullKey, start, end, opts.signal),
    );
    if (direct !== undefined) return direct;
    const { body } = await this.getRange(key, start, end, opts);
    return collect(body, end - start + 1);
  }

  /** GET of bytes `start..end`; `total` is the object's size (from Content-Range). */
  private async getRange(
    key: string,
    start: number,
    end: number,
    opts: TransferCallOptions,
  ): Promise<{ body: Readable; total: number | undefined }> {
    const request = (range: string | undefined) =>
      this.clientFor(opts.signal).send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          ...(range === undefined ? {} : { Range: range }),
          ...this.params.read,
        }),
        this.optionsFor(opts.signal),
      );
    try {
      const direct = await this.directRange(key, start, end, opts.signal);
      if (direct !== undefined) return direct;
      let res: GetObjectCommandOutput;
      try {
        res = await request(`bytes=${start}-${end}`);
      } catch (err) {
        // An empty object has no byte 0: servers answer 416 to any range.
        if (httpStatus(err) !== 416 || start !== 0) throw err;
        res = await request(undefined);
      }
      const match = /\/(\d+)$/.exec(res.ContentRange ?? '');
      return { body: res.Body as Readable, total: match ? Number(match[1]) : res.ContentLength };
    } catch (err) {
      if (httpStatus(err) === 404) {
        throw new CpvError('E_REMOTE_NOT_FOUND', `'${key}' does not exist on remote '${this.name}'`, {
          hint: 'Push it from a clone that has it in its cache (cpv push).',
          cause: err,
        });
      }
      throw this.error(err, `cannot download '${key}'`, opts.signal);
    }
  }

  /** The range through the direct path where it applies; `undefined` asks the SDK instead. */
  private async directRange(
    key: string,
    start: number,
    end: number,
    signal: AbortSignal | undefined,
  ): Promise<{ body: Readable; total: number | undefined } | undefined> {
    if (start > 0) return this.directRead(key, `bytes=${start}-${end}`, signal);
    // The first range is asked for whole: most objects are smaller than a range, and a ranged
    // GET costs the server more (Ceph RGW: ~15 % of its CPU per small object). A bigger object
    // is asked again for its first range, and the rest follows in ranges as usual.
    const whole = await this.directRead(key, undefined, signal);
    if (whole === undefined || whole.total === undefined || whole.total <= end + 1) return whole;
    whole.body.destroy();
    return this.directRead(key, `bytes=${start}-${end}`, signal);
  }

  /**
   * One GET through the direct path (s3-direct.ts), if this remote has it. `undefined` hands
   * the request to the SDK: an answer other than the object or range (the SDK then reports it),
   * or a connection that failed, after which the SDK serves this remote alone. A silence past
   * read_timeout is thrown as is: asking again through the SDK would double the wait.
   */
  private async directRead(
    key: string,
    range: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<DirectResponse | undefined> {
    const direct = this.direct;
    if (direct === undefined) return undefined;
    try {
      return await direct.get(this.prefix + key, range, signal);
    } catch (err) {
      this.directFailed(err, signal);
      return undefined;
    }
  }

  /**
   * A direct request failed before any answer. An abort or a timeout is thrown as is (asking
   * again through the SDK would double the wait); any other failure hands this remote to the SDK.
   */
  private directFailed(err: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted || (err as Error)?.name === 'TimeoutError') throw err;
    this.direct?.close();
    this.direct = undefined;
  }

  async delete(key: string, opts: TransferCallOptions = {}): Promise<void> {
    await this.checkBucket(opts.signal);
    try {
      await this.clientFor(opts.signal).send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
        this.optionsFor(opts.signal),
      );
    } catch (err) {
      if (httpStatus(err) === 404) return;
      throw this.error(err, `cannot delete '${key}'`, opts.signal);
    }
  }

  /** Aborts multipart uploads under this remote's prefix older than `olderThanMs`; returns how many. */
  async abortStaleUploads(keyPrefix: string, olderThanMs: number, signal?: AbortSignal): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    const cutoff = Date.now() - olderThanMs;
    do {
      const page = await this.clientFor(signal).send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix + keyPrefix,
          ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
          ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }),
        }),
        this.optionsFor(signal),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined) continue;
        if ((upload.Initiated?.getTime() ?? 0) > cutoff) continue;
        await this.abortUpload(upload.Key, upload.UploadId);
        aborted += 1;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return aborted;
  }

  // -------------------------------------------------------------------------------------------

  private async putSmall(
    key: string,
    srcPath: string,
    size: number,
    opts: TransferCallOptions,
  ): Promise<void> {
    // Small files are read synchronously: four thread-pool round trips (open, stat, read, close)
    // cost more than the read itself, and the request that follows dominates anyway.
    const body = size <= SYNC_READ_MAX ? fs.readFileSync(srcPath) : await fs.promises.readFile(srcPath);
    if (await this.putDirect(key, body, opts.signal)) {
      opts.onBytes?.(body.length);
      return;
    }
    await this.clientFor(opts.signal).send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: body,
        ContentLength: body.length,
        ...this.params.write,
      }),
      this.optionsFor(opts.signal),
    );
    opts.onBytes?.(body.length);
  }

  /**
   * A small object sent the direct way (s3-direct.ts), where this remote has it; false leaves the
   * upload to the SDK: an answer other than 200 (the SDK then sends again and reports it), or a
   * connection that failed (the SDK then serves this remote alone).
   */
  private async putDirect(key: string, body: Buffer, signal: AbortSignal | undefined): Promise<boolean> {
    const direct = this.direct;
    if (direct === undefined || !this.directWrites) return false;
    try {
      return await direct.putWhole(this.prefix + key, body, await payloadHash(body), signal);
    } catch (err) {
      this.directFailed(err, signal);
      return false;
    }
  }

  /**
   * A multipart upload. One left behind for this very key (a killed push) is resumed: its parts
   * that match our bytes are kept, the rest uploaded, and it is completed. Keys are content
   * addresses, so any upload of the key carries the same bytes. Otherwise a fresh upload starts.
   * Either way no other upload of the key is left behind once the object exists.
   */
  private async putLarge(
    key: string,
    srcPath: string,
    size: number,
    partSize: number,
    opts: TransferCallOptions,
  ): Promise<void> {
    const fullKey = this.prefix + key;
    const leftovers = (await this.uploadsOf(fullKey, opts.signal)).sort((x, y) => y.initiated - x.initiated);
    // With SSE-KMS or SSE-C a part's ETag is not the MD5 of its bytes: nothing to check parts by.
    const checkable =
      this.params.write.ServerSideEncryption !== 'aws:kms' && !this.params.write.SSECustomerKey;
    let done = false;
    if (checkable && leftovers[0] !== undefined) {
      done = await this.resumeUpload(fullKey, leftovers[0].uploadId, srcPath, size, partSize, opts).then(
        () => true,
        (err: unknown) => {
          if (opts.signal?.aborted) throw err;
          return false; // start afresh below
        },
      );
      if (done) leftovers.shift();
    }
    if (!done) await this.freshUpload(fullKey, srcPath, size, partSize, opts);
    for (const upload of leftovers) await this.abortUpload(fullKey, upload.uploadId).catch(() => undefined);
  }

  /** The unfinished multipart uploads of exactly `fullKey`. */
  private async uploadsOf(
    fullKey: string,
    signal: AbortSignal | undefined,
  ): Promise<Array<{ uploadId: string; initiated: number }>> {
    const page = await this.clientFor(signal).send(
      new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: fullKey }),
      this.optionsFor(signal),
    );
    return (page.Uploads ?? []).flatMap((u) =>
      u.Key === fullKey && u.UploadId !== undefined
        ? [{ uploadId: u.UploadId, initiated: u.Initiated?.getTime() ?? 0 }]
        : [],
    );
  }

  /** Finishes upload `uploadId`: keeps the parts whose size and MD5 match, sends the others. */
  private async resumeUpload(
    fullKey: string,
    uploadId: string,
    srcPath: string,
    size: number,
    partSize: number,
    opts: TransferCallOptions,
  ): Promise<void> {
    const have = new Map<number, { etag: string; size: number }>();
    let marker: string | undefined;
    do {
      const page = await this.clientFor(opts.signal).send(
        new ListPartsCommand({
          Bucket: this.bucket,
          Key: fullKey,
          UploadId: uploadId,
          ...(marker === undefined ? {} : { PartNumberMarker: marker }),
        }),
        this.optionsFor(opts.signal),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber !== undefined && part.ETag !== undefined) {
          have.set(part.PartNumber, { etag: bareEtag(part.ETag) ?? '', size: part.Size ?? -1 });
        }
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker !== undefined);

    await this.fillUpload(fullKey, uploadId, { srcPath, size, partSize, held: have }, opts);
  }

  /** A new multipart upload of `srcPath`; aborted (no parts left to bill) if anything fails. */
  private async freshUpload(
    fullKey: string,
    srcPath: string,
    size: number,
    partSize: number,
    opts: TransferCallOptions,
  ): Promise<void> {
    const created = await this.clientFor(opts.signal).send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, ...this.params.write }),
      this.optionsFor(opts.signal),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new Error('the server started a multipart upload without an id');
    try {
      await this.fillUpload(fullKey, uploadId, { srcPath, size, partSize }, opts);
    } catch (err) {
      await this.abortUpload(fullKey, uploadId).catch(() => undefined);
      throw err;
    }
  }

  private async sendPart(
    fullKey: string,
    uploadId: string,
    part: PartToSend,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const command = new UploadPartCommand({
      Bucket: this.bucket,
      Key: fullKey,
      UploadId: uploadId,
      PartNumber: part.number,
      Body: part.body,
      ContentLength: part.body.byteLength,
      ...this.params.read, // SSE-C parameters, when set, go with every part
    });
    const res = await this.clientFor(signal).send(command, this.optionsFor(signal));
    const etag = bareEtag(res.ETag);
    if (etag === undefined) throw new Error(`the server gave part ${part.number} no ETag`);
    return etag;
  }

  /** Sends the parts of `file` the upload does not hold yet, then completes it. */
  private async fillUpload(
    fullKey: string,
    uploadId: string,
    file: Pick<SendPartsOptions, 'srcPath' | 'size' | 'partSize' | 'held'>,
    opts: TransferCallOptions,
  ): Promise<void> {
    const parts = await sendParts({
      ...file,
      jobs: Math.max(1, opts.jobs ?? this.jobs ?? 4),
      signal: opts.signal,
      send: (part) => this.sendPart(fullKey, uploadId, part, opts.signal),
      onBytes: opts.onBytes,
    });
    await this.clientFor(opts.signal).send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: fullKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      this.optionsFor(opts.signal),
    );
  }

  private async abortUpload(fullKey: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, UploadId: uploadId }),
      );
    } catch (err) {
      if (httpStatus(err) !== 404) throw err; // NoSuchUpload: already gone
    }
  }

  /**
   * The client to send a request with, cancelled by `signal`. The SDK assembles a command's
   * middleware stack anew on every send (a sizeable part of its CPU per request, which bounds
   * small-object transfers) unless the client caches it, and it caches only sends without per-call
   * options, which the abort signal is. So each signal gets a client of its own, with this one's
   * settings, connections and credentials, whose requests and retry pauses carry that signal.
   */
  private clientFor(signal: AbortSignal | undefined): S3Client {
    if (signal === undefined || this.settings === undefined) return this.client;
    let client = this.signalClients.get(signal);
    if (client === undefined) {
      client = new S3Client({
        ...this.settings,
        credentials: this.client.config.credentials,
        requestHandler: boundToSignal(this.client.config.requestHandler, signal),
      });
      hashPayloadsOffThread(client);
      client.middlewareStack.add(
        (next, context) => (args) => {
          // Where the SDK's retry pauses look for the caller's signal.
          const ctx = context as { __smithy_context?: Record<string, unknown> };
          ctx.__smithy_context ??= {};
          const smithy = ctx.__smithy_context;
          smithy.abortSignal = signal;
          return next(args);
        },
        { step: 'initialize', priority: 'high', name: 'cpvAbortSignal' },
      );
      this.signalClients.set(signal, client);
    }
    return client;
  }

  /** The per-call options that go with `clientFor(signal)`. */
  private optionsFor(signal: AbortSignal | undefined): { abortSignal: AbortSignal } | undefined {
    return signal === undefined || this.settings !== undefined ? undefined : { abortSignal: signal };
  }

  /** HEAD on the bucket once, turning a missing bucket or a wrong endpoint into one clear error. */
  private checkBucket(signal: AbortSignal | undefined): Promise<void> {
    if (signal !== undefined) this.allowListeners(signal);
    this.bucketChecked ??= this.clientFor(signal)
      .send(new HeadBucketCommand({ Bucket: this.bucket }), this.optionsFor(signal))
      .then(
        () => undefined,
        (err: unknown) => {
          // Credentials limited to objects under a prefix may not HEAD the bucket: the object
          // requests that follow will tell (and bad credentials fail there just as clearly).
          if (httpStatus(err) === 403) return;
          this.bucketChecked = undefined; // a later call may try again (e.g. after an abort)
          if (httpStatus(err) === 404) {
            throw new CpvError(
              'E_REMOTE_NOT_FOUND',
              `bucket '${this.bucket}' of remote '${this.name}' does not exist`,
              {
                hint: `Create it (e.g. aws s3 mb s3://${this.bucket}) or fix the url with \`cpv remote modify ${this.name} url s3://<bucket>/<prefix>\`.`,
                cause: err,
              },
            );
          }
          throw this.error(err, `cannot access bucket '${this.bucket}'`, signal);
        },
      );
    return this.bucketChecked;
  }

  /**
   * Every request in flight listens on the command's abort signal, and so does each download's
   * stream: with `jobs` objects at once, each read as up to `jobs` ranges, that is up to about
   * jobs² listeners — not a leak, but past Node's default of 10 it prints a warning to the user.
   */
  private allowListeners(signal: AbortSignal): void {
    const jobs = this.jobs ?? 16;
    const needed = Math.max(64, (jobs + 2) ** 2);
    if (EventEmitter.getMaxListeners(signal) < needed) EventEmitter.setMaxListeners(needed, signal);
  }

  /** One clear CpvError for an SDK or network failure. */
  private error(err: unknown, what: string, signal: AbortSignal | undefined): CpvError {
    if (err instanceof CpvError) return err;
    if (signal?.aborted || (err as { name?: string })?.name === 'AbortError') {
      return abortedError(signal ?? AbortSignal.abort());
    }
    const status = httpStatus(err);
    const name = (err as { name?: string })?.name ?? '';
    const detail = `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${(err as Error)?.message ?? err}`;
    const where = `remote '${this.name}' (${this.url} at ${this.endpoint})`;
    if (status === 403 || status === 401 || AUTH_ERRORS.has(name)) {
      return new CpvError('E_AUTH', `${where}: ${what}: access denied: ${detail}`, {
        hint: 'Check the credentials: access_key_id/secret_access_key in .dvc/config.local, AWS_* variables, or the AWS profile (profile, credentialpath).',
        cause: err,
      });
    }
    if (name === 'TimeoutError') return this.timeoutError(err, where, what);
    const code = errnoCode(err) ?? errnoCode((err as { cause?: unknown })?.cause);
    if (code !== undefined && NETWORK_ERRNO.has(code)) {
      return new CpvError('E_NETWORK', `${where}: ${what}: cannot reach the server: ${code ?? name}`, {
        hint: `Check that the server is up and that endpointurl is right (cpv remote modify ${this.name} endpointurl <url>).`,
        cause: err,
      });
    }
    return new CpvError('E_REMOTE_IO', `${where}: ${what}: ${detail}`, {
      hint: 'Run the command again; objects already transferred are skipped.',
      cause: err,
    });
  }

  /** A connection not made in connect_timeout, or a server silent for read_timeout (after retries). */
  private timeoutError(err: unknown, where: string, what: string): CpvError {
    const connecting =
      /establish a connection/i.test((err as Error)?.message ?? '') ||
      (err as { syscall?: string })?.syscall === 'connect';
    const [option, seconds, state] = connecting
      ? ['connect_timeout', this.timeouts.connect, 'no connection']
      : ['read_timeout', this.timeouts.read, 'no data'];
    return new CpvError(
      'E_NETWORK',
      `${where}: ${what}: the server stopped answering (${state} for ${seconds} s, ${option})`,
      {
        hint: `Check that the server is up and reachable; on a slow link raise the limit (cpv remote modify ${this.name} ${option} 120).`,
        cause: err,
      },
    );
  }
}

const AUTH_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
]);

/** Request bodies at least this big have their SigV4 payload hash computed off the main thread. */
const OFF_THREAD_HASH_MIN = 1 << 20;
const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';

/**
 * SigV4 signs a request body by its SHA-256, which the SDK computes on the main thread for every
 * in-memory body: 2 s of the main thread per GiB pushed, where it also has to feed the sockets.
 * The worker computes the same hash; given as the `x-amz-content-sha256` header, the signer takes
 * it instead of hashing (the header is signed like any other, so nothing changes on the wire).
 */
export function hashPayloadsOffThread(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const { headers, body } = request;
      if (
        headers !== undefined &&
        body instanceof Uint8Array &&
        body.byteLength >= OFF_THREAD_HASH_MIN &&
        !Object.keys(headers).some((h) => h.toLowerCase() === PAYLOAD_HASH_HEADER)
      ) {
        headers[PAYLOAD_HASH_HEADER] = await payloadHash(body);
      }
      return next(args);
    },
    { step: 'build', name: 'cpvPayloadHashOffThread', override: true },
  );
}

/**
 * SHA-256 (hex) of a body to sign: known already for a part read off-thread (s3-parts.ts), else
 * taken on a worker thread when the body is big (see hashPayloadsOffThread), else here.
 */
async function payloadHash(body: Uint8Array): Promise<string> {
  const known = knownPayloadHash(body);
  if (known !== undefined) return known;
  if (body.byteLength < OFF_THREAD_HASH_MIN) return createHash('sha256').update(body).digest('hex');
  return sha256OffThread(body);
}

/**
 * The direct path for a client made from a remote's settings, where it applies: a custom endpoint
 * (path-style), signed requests (not anonymous), no SSE-C keys to send with reads. (Writes also
 * need no SSE or ACL parameters: see `directWrites`.)
 */
function directS3(
  client: S3Client,
  settings: S3ClientConfig | undefined,
  bucket: string,
  params: ObjectParams,
  timeouts: { connect: number; read: number },
): DirectS3 | undefined {
  const endpoint = settings?.endpoint;
  const handler = settings?.requestHandler as
    | { httpAgent?: http.Agent | http.AgentOptions; httpsAgent?: https.Agent }
    | undefined;
  if (typeof endpoint !== 'string' || settings?.signer !== undefined || Object.keys(params.read).length > 0) {
    return undefined;
  }
  if (typeof settings?.region !== 'string') return undefined;
  const httpAgent = handler?.httpAgent;
  const agent = endpoint.startsWith('https:')
    ? handler?.httpsAgent
    : httpAgent instanceof http.Agent
      ? httpAgent
      : new http.Agent({ keepAlive: true, ...httpAgent });
  return new DirectS3({
    endpoint,
    bucket,
    region: settings.region,
    credentials: () => client.config.credentials(),
    agent,
    connectTimeoutMs: timeouts.connect * 1000,
    readTimeoutMs: timeouts.read * 1000,
  });
}

/** A request handler that sends through `inner`, every request cancelled by `signal`. */
function boundToSignal(inner: S3Client['config']['requestHandler'], signal: AbortSignal) {
  const extra = inner as {
    updateHttpClientConfig?: (key: never, value: never) => void;
    httpHandlerConfigs?: () => Record<string, unknown>;
  };
  return {
    metadata: inner.metadata,
    handle: (request: Parameters<typeof inner.handle>[0], options?: Parameters<typeof inner.handle>[1]) =>
      inner.handle(request, { ...options, abortSignal: signal }),
    updateHttpClientConfig: (key: never, value: never) => extra.updateHttpClientConfig?.(key, value),
    httpHandlerConfigs: () => extra.httpHandlerConfigs?.() ?? {},
    destroy: () => undefined, // the connections belong to the remote's own client
  };
}

/**
 * A body of `length` bytes, whole; cut short (or longer), it fails as a reset (transient:
 * retried). The bytes are copied into one buffer as they come, not gathered and joined at the
 * end: with a range of 8 MiB per job in flight, joining held each range twice (measured: peak
 * RSS of a fetch grew by ≈ 24 MiB per job).
 */
function collect(body: Readable, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const whole = takeBuffer(length);
    let got = 0;
    let ended = false;
    const wrongSize = () => Object.assign(new Error(`got ${got} of ${length} bytes`), { code: 'ECONNRESET' });
    body.on('data', (chunk: Buffer) => {
      if (got + chunk.length > length) {
        got += chunk.length;
        body.destroy(wrongSize());
        return;
      }
      chunk.copy(whole, got);
      got += chunk.length;
    });
    body.once('error', reject);
    body.once('end', () => {
      ended = true;
      if (got === length) resolve(whole);
      else reject(wrongSize());
    });
    // Closed without an end or an error (destroyed quietly): settle rather than wait forever. After
    // an end there is nothing to say (and an Error per object, with its stack, is not free).
    body.once('close', () => {
      if (!ended) reject(wrongSize());
    });
  });
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

// ---------------------------------------------------------------------------------------------
// Config → client

function boolOption(config: RemoteConfig, key: string): boolean | undefined {
  const raw = config.options.get(key);
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CpvError(
    'E_REMOTE_CONFIG',
    `remote '${config.name}': ${key} must be true or false, not '${raw}'`,
    {
      hint: `Fix it with \`cpv remote modify ${config.name} ${key} true\`.`,
    },
  );
}

function secondsOption(config: RemoteConfig, key: string): number {
  const raw = config.options.get(key);
  if (raw === undefined) return DEFAULT_TIMEOUT_S;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new CpvError(
      'E_REMOTE_CONFIG',
      `remote '${config.name}': ${key} must be a number of seconds, not '${raw}'`,
      {
        hint: `Fix it with \`cpv remote modify ${config.name} ${key} 60\`.`,
      },
    );
  }
  return value;
}

/**
 * The SDK's connection pools. With a proxy in the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY,
 * as the AWS CLI and DVC honour them) each connection goes through the proxy its endpoint calls for.
 */
function connectionAgents(
  agentOptions: https.AgentOptions,
  connectTimeoutMs: number,
  env: NodeJS.ProcessEnv,
): { httpsAgent: https.Agent; httpAgent: http.Agent | http.AgentOptions } {
  const httpOptions = { keepAlive: true, maxSockets: agentOptions.maxSockets };
  if (!proxyConfigured(env)) return { httpsAgent: new https.Agent(agentOptions), httpAgent: httpOptions };
  return proxyAgents(env, { http: httpOptions, https: agentOptions, timeoutMs: connectTimeoutMs });
}

/** The S3 client settings for a remote's options (`env`: where proxy settings are read from). */
export function clientConfig(
  config: RemoteConfig,
  jobs: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): S3ClientConfig {
  const o = config.options;
  let endpoint = o.get('endpointurl');
  if (endpoint !== undefined && !/^https?:\/\//i.test(endpoint)) {
    endpoint = `${boolOption(config, 'use_ssl') === false ? 'http' : 'https'}://${endpoint}`;
  }
  const sslVerify = o.get('ssl_verify');
  const agentOptions: https.AgentOptions = { keepAlive: true, maxSockets: Math.max(50, 2 * (jobs ?? 16)) };
  if (sslVerify !== undefined && sslVerify.toLowerCase() === 'false') agentOptions.rejectUnauthorized = false;
  else if (sslVerify !== undefined && sslVerify.toLowerCase() !== 'true')
    agentOptions.ca = fs.readFileSync(sslVerify);
  const connectMs = secondsOption(config, 'connect_timeout') * 1000;
  const cfg: S3ClientConfig = {
    region: o.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    // Without a region of its own the client follows the bucket's (DVC detects it the same way).
    followRegionRedirects: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Middleware assembled once per command type, not per request (see S3Remote.clientFor).
    cacheMiddleware: true,
    // The handler sends a body at once on our own agents (it waits for "100 Continue" only on
    // agents it makes itself), so the header would only make the server answer twice per part.
    expectContinueHeader: false,
    maxAttempts: 5,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: connectMs,
      // read_timeout is how long the socket may stay silent, as in DVC. Not the handler's
      // requestTimeout: that bounds a whole request and, past it, only logs a warning — a stalled
      // server then hung a transfer forever (found by the reliability suite's fault proxy).
      socketTimeout: secondsOption(config, 'read_timeout') * 1000,
      ...connectionAgents(agentOptions, connectMs, env),
    },
  };
  if (endpoint !== undefined) {
    cfg.endpoint = endpoint;
    cfg.forcePathStyle = true;
  }
  if (boolOption(config, 'allow_anonymous_login') === true) {
    cfg.signer = { sign: async (request) => request };
    cfg.credentials = { accessKeyId: '', secretAccessKey: '' };
    return cfg;
  }
  const key = o.get('access_key_id');
  const secret = o.get('secret_access_key');
  if (key !== undefined || secret !== undefined) {
    if (key === undefined || secret === undefined) {
      throw new CpvError(
        'E_REMOTE_CONFIG',
        `remote '${config.name}': access_key_id and secret_access_key go together`,
        {
          hint: `Set both with \`cpv remote modify --local ${config.name} <key> <value>\`.`,
        },
      );
    }
    const token = o.get('session_token');
    cfg.credentials = {
      accessKeyId: key,
      secretAccessKey: secret,
      ...(token === undefined ? {} : { sessionToken: token }),
    };
    return cfg;
  }
  const profile = o.get('profile');
  const credentialPath = o.get('credentialpath');
  const configPath = o.get('configpath');
  cfg.credentials = fromNodeProviderChain({
    ...(profile === undefined ? {} : { profile }),
    ...(credentialPath === undefined ? {} : { filepath: path.resolve(credentialPath) }),
    ...(configPath === undefined ? {} : { configFilepath: path.resolve(configPath) }),
  });
  return cfg;
}

/** Encryption and ACL options as request parameters (dvc-compat §5.4). */
function objectParams(config: RemoteConfig): ObjectParams {
  const o = config.options;
  const write: Record<string, string> = {};
  const read: Record<string, string> = {};
  const sse = o.get('sse');
  if (sse !== undefined) write.ServerSideEncryption = sse as ServerSideEncryption;
  const kmsKey = o.get('sse_kms_key_id');
  if (kmsKey !== undefined) write.SSEKMSKeyId = kmsKey;
  const customerKey = o.get('sse_customer_key');
  if (customerKey !== undefined) {
    if (kmsKey !== undefined) {
      throw new CpvError(
        'E_REMOTE_CONFIG',
        `remote '${config.name}': sse_kms_key_id and sse_customer_key exclude each other`,
        {
          hint: `Remove one with \`cpv remote modify --unset ${config.name} <option>\`.`,
        },
      );
    }
    const algorithm = o.get('sse_customer_algorithm') ?? 'AES256';
    // SSE-C: the key goes with every read and write of the object.
    for (const target of [write, read]) {
      target.SSECustomerAlgorithm = algorithm;
      target.SSECustomerKey = customerKey; // base64, as DVC takes it; the SDK adds the key's MD5
    }
  }
  const acl = o.get('acl');
  const grants: Array<[string, string]> = [
    ['grant_read', 'GrantRead'],
    ['grant_read_acp', 'GrantReadACP'],
    ['grant_write_acp', 'GrantWriteACP'],
    ['grant_full_control', 'GrantFullControl'],
  ];
  const grantSet = grants.filter(([key]) => o.get(key) !== undefined);
  if (acl !== undefined && grantSet.length > 0) {
    throw new CpvError(
      'E_REMOTE_CONFIG',
      `remote '${config.name}': acl and grant_* options exclude each other`,
      {
        hint: 'Use either a canned acl or explicit grants.',
      },
    );
  }
  if (acl !== undefined) write.ACL = acl as ObjectCannedACL;
  for (const [key, param] of grantSet) write[param] = o.get(key)!;
  return { write, read };
}
