/**
 * The small HTTP/1.1 client (http1.ts) against real sockets on 127.0.0.1 whose answers are
 * scripted byte for byte: bodies come back whole, connections are reused only when that is safe,
 * anything outside its narrow scope comes back without a body, and failures are told apart (a
 * kept connection the server closed is retried, a body cut short is a BodyCutShort, silence is a
 * TimeoutError, an abort an AbortError).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyCutShort, Http1Client } from '../../src/remote/http1.js';

/** What the scripted server does with the n-th request it gets (from 0, over all connections). */
type Script = (socket: net.Socket, request: string, n: number) => void;

interface Scripted {
  port: number;
  /** Connections accepted so far. */
  connections: () => number;
  /** Every request head received, in order. */
  requests: string[];
  /** The body of each request (as latin1 text; '' without one). */
  bodies: string[];
}

const servers: net.Server[] = [];
const serverSockets: net.Socket[] = [];
const clients: Http1Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const socket of serverSockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function scriptedServer(script: Script): Promise<Scripted> {
  let connections = 0;
  const requests: string[] = [];
  const bodies: string[] = [];
  const server = net.createServer((socket) => {
    connections++;
    serverSockets.push(socket);
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end + 4);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(request)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return; // the body is still coming
        pending = pending.slice(end + 4);
        bodies.push(pending.slice(0, length));
        pending = pending.slice(length);
        requests.push(request);
        script(socket, request, requests.length - 1);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    requests,
    bodies,
  };
}

function client(port: number, readTimeoutMs = 5_000): Http1Client {
  const c = new Http1Client(new http.Agent({ keepAlive: true }), {
    protocol: 'http:',
    host: '127.0.0.1',
    port,
    connectTimeoutMs: 5_000,
    readTimeoutMs,
  });
  clients.push(c);
  return c;
}

const head = (path: string) => `GET ${path} HTTP/1.1\r\nhost: test\r\n\r\n`;
const ok = (body: string, extra = '') =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('Http1Client', () => {
  it('reads whole bodies and sends every request of a run over one kept connection', async () => {
    const s = await scriptedServer((socket, request) => socket.write(ok(`body of ${request.split(' ')[1]}`)));
    const c = client(s.port);
    for (const p of ['/a', '/b', '/c']) {
      const answer = await c.request(head(p), undefined, 1024);
      expect(answer).toEqual({ status: 200, body: Buffer.from(`body of ${p}`) });
    }
    expect(s.connections()).toBe(1);
    expect(s.requests[0]).toBe(head('/a'));
  });

  it('parses heads and bodies split into single bytes, and empty bodies', async () => {
    const s = await scriptedServer((socket, _request, n) => {
      const bytes = Buffer.from(n === 0 ? ok('split up') : ok(''));
      const writeFrom = (i: number) => {
        if (i >= bytes.length) return;
        socket.write(bytes.subarray(i, i + 1));
        setTimeout(() => writeFrom(i + 1), i % 3);
      };
      writeFrom(0);
    });
    const c = client(s.port);
    expect((await c.request(head('/x'), undefined, 1024)).body?.toString()).toBe('split up');
    expect((await c.request(head('/y'), undefined, 1024)).body).toEqual(Buffer.alloc(0));
    expect(s.connections()).toBe(1);
  });

  it('leaves other statuses without a body; a short one is drained and its connection kept', async () => {
    const s = await scriptedServer((socket, _request, n) => {
      if (n === 0) socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNoSuchKey');
      else socket.write(ok('after'));
    });
    const c = client(s.port);
    expect(await c.request(head('/missing'), undefined, 1024)).toEqual({ status: 404, body: undefined });
    expect((await c.request(head('/there'), undefined, 1024)).body?.toString()).toBe('after');
    expect(s.connections()).toBe(1);
  });

  it.each([
    ['a body over the limit', ok('x'.repeat(100_000))],
    ['a chunked body', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['no length at all', 'HTTP/1.1 200 OK\r\n\r\nuntil close'],
    ['a 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['Connection: close', ok('fine', 'Connection: close\r\n')],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nfine'],
    ['more bytes than announced', `${ok('fine')}junk`],
  ])('%s: the connection is not used again', async (name, answer) => {
    const s = await scriptedServer((socket, _request, n) => socket.write(n === 0 ? answer : ok('next')));
    const c = client(s.port);
    const first = await c.request(head('/first'), undefined, 50_000);
    const keepsBody = ['Connection: close', 'HTTP/1.0', 'more bytes than announced'].includes(name);
    expect(first.body?.toString()).toBe(keepsBody ? 'fine' : undefined);
    expect((await c.request(head('/second'), undefined, 1024)).body?.toString()).toBe('next');
    expect(s.connections()).toBe(2);
  });

  it('sends a request again on a new connection when the kept one was closed by the server', async () => {
    const s = await scriptedServer((socket) => {
      // Each connection answers once, then the server closes it while it is idle.
      socket.end(ok(`answer on connection ${s.connections()}`));
    });
    const c = client(s.port);
    expect((await c.request(head('/1'), undefined, 1024)).body?.toString()).toBe('answer on connection 1');
    expect((await c.request(head('/2'), undefined, 1024)).body?.toString()).toBe('answer on connection 2');
    expect(s.connections()).toBe(2);
  });

  it('sends a body after its head, and sends both again when the kept connection was closed', async () => {
    const s = await scriptedServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const c = client(s.port);
    const put = (path: string, body: string) =>
      `PUT ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const first = Buffer.from('x'.repeat(70_000)); // more than one segment
    expect(await c.request(put('/a', first.toString()), first, 0)).toEqual({
      status: 200,
      body: Buffer.alloc(0),
    });
    expect(await c.request(put('/b', 'second'), Buffer.from('second'), 0)).toEqual({
      status: 200,
      body: Buffer.alloc(0),
    });
    // '/b' went out on the kept connection, which the server had ended: no answer came, so it
    // was sent again, body and all, on a new one.
    expect(s.requests.map((r) => r.split(' ')[1])).toEqual(['/a', '/b', '/b']);
    expect(s.bodies[0] === first.toString()).toBe(true); // (not toEqual: 70 kB in a failure message)
    expect(s.bodies.slice(1)).toEqual(['second', 'second']);
    expect(s.connections()).toBe(2);
  });

  it('a kept connection closed while idle is dropped from the pool, not written to', async () => {
    const s = await scriptedServer((socket) => socket.end(ok(`answer on connection ${s.connections()}`)));
    const c = client(s.port);
    expect((await c.request(head('/1'), undefined, 1024)).body?.toString()).toBe('answer on connection 1');
    await new Promise((r) => setTimeout(r, 100)); // the server's close reaches the idle connection
    expect((await c.request(head('/2'), undefined, 1024)).body?.toString()).toBe('answer on connection 2');
    expect(s.requests).toHaveLength(2);
  });

  it('a kept connection reset under a request is retried once; a fresh one reset is an error', async () => {
    const s = await scriptedServer((socket, _request, n) => {
      if (s.connections() === 1 && n === 1) socket.resetAndDestroy();
      else if (s.connections() === 2) socket.resetAndDestroy();
      else socket.write(ok('one'));
    });
    const c = client(s.port);
    expect((await c.request(head('/1'), undefined, 1024)).body?.toString()).toBe('one');
    const err = await c.request(head('/2'), undefined, 1024).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect(err).not.toBeInstanceOf(BodyCutShort);
    expect(s.connections()).toBe(2);
  });

  it('a body cut short fails as BodyCutShort (retryable), and the connection is not kept', async () => {
    const s = await scriptedServer((socket) =>
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf'),
    );
    const c = client(s.port);
    const err = await c.request(head('/cut'), undefined, 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyCutShort);
    expect(err).toMatchObject({ code: 'ECONNRESET', message: expect.stringContaining('4 of 10 bytes') });
  });

  it('silence past the read timeout is a TimeoutError', async () => {
    const s = await scriptedServer(() => undefined);
    const started = Date.now();
    const err = await client(s.port, 200)
      .request(head('/silent'), undefined, 1024)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError', message: expect.stringContaining('200 ms') });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('an abort ends a request in flight with an AbortError; an aborted signal sends nothing', async () => {
    const s = await scriptedServer(() => undefined);
    const c = client(s.port);
    const ac = new AbortController();
    const pending = c.request(head('/slow'), undefined, 1024, ac.signal).catch((e: unknown) => e);
    setTimeout(() => ac.abort(), 50);
    expect(await pending).toMatchObject({ name: 'AbortError' });
    const before = s.requests.length;
    await expect(c.request(head('/never'), undefined, 1024, ac.signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(s.requests.length).toBe(before);
  });

  it('a malformed answer and a refused connection are errors', async () => {
    const s = await scriptedServer((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect(client(s.port).request(head('/x'), undefined, 1024)).rejects.toThrow(
      /not an HTTP\/1 answer/,
    );
    const bad = await scriptedServer((socket) =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'),
    );
    await expect(client(bad.port).request(head('/x'), undefined, 1024)).rejects.toThrow(/bad Content-Length/);
    const closed = await scriptedServer(() => undefined);
    const port = closed.port;
    await new Promise((r) => servers.pop()!.close(r));
    await expect(client(port).request(head('/x'), undefined, 1024)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});

/** An agent whose connections node:http does not make itself: they read through data events. */
class WrappingAgent extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>) {
    return http.Agent.prototype.createConnection.apply(this, args);
  }
}

describe.each([
  ['node:http’s agent (reads into the shared buffer)', () => new http.Agent({ keepAlive: true })],
  ['an agent of its own (data events)', () => new WrappingAgent({ keepAlive: true })],
])('Http1Client over %s', (_name, agent) => {
  const clientOver = (a: http.Agent, port: number) => {
    const c = new Http1Client(a, {
      protocol: 'http:',
      host: '127.0.0.1',
      port,
      connectTimeoutMs: 5_000,
      readTimeoutMs: 5_000,
    });
    clients.push(c);
    return c;
  };

  /** A body of `size` bytes that differs from every other path's. */
  const bodyOf = (p: string, size: number) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) bytes.writeUInt32LE((i * 2654435761 + p.charCodeAt(1)) >>> 0, i);
    return bytes;
  };

  it('keeps the bodies of many connections apart while they arrive interleaved', async () => {
    const size = 1 << 20;
    const s = await scriptedServer((socket, request) => {
      const p = request.split(' ')[1]!;
      // Head in two writes a moment apart, then the body in pieces: reads of every
      // connection interleave.
      socket.write('HTTP/1.1 200 OK\r\nContent-');
      setTimeout(() => {
        socket.write(`Length: ${size}\r\n\r\n`);
        const body = bodyOf(p, size);
        for (let off = 0; off < size; off += 100_000) socket.write(body.subarray(off, off + 100_000));
      }, 5);
    });
    const c = clientOver(agent(), s.port);
    const paths = ['/a', '/b', '/c', '/d', '/e', '/f', '/g', '/h'];
    const answers = await Promise.all(paths.map((p) => c.request(head(p), undefined, size)));
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.body?.equals(bodyOf(paths[i]!, size)), paths[i]).toBe(true);
    });
    expect(s.connections()).toBe(paths.length);
  });

  it('reads a range (206) when asked for one; any other answer comes without a body', async () => {
    const s = await scriptedServer((socket, request) =>
      socket.write(
        request.includes('/whole')
          ? ok('0123456789')
          : 'HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 2-5/10\r\nContent-Length: 4\r\n\r\n2345',
      ),
    );
    const c = clientOver(agent(), s.port);
    expect(await c.request(head('/range'), undefined, 4, undefined, 206)).toEqual({
      status: 206,
      body: Buffer.from('2345'),
    });
    expect(await c.request(head('/whole'), undefined, 100, undefined, 206)).toEqual({
      status: 200,
      body: undefined,
    });
    expect(await c.request(head('/range'), undefined, 100)).toEqual({ status: 206, body: undefined });
  });
});
