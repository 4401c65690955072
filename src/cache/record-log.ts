/**
 * An append-only log of text records, one per line, each line ending in a CRC-32 of its body.
 * A process killed mid-append leaves at most one torn last line, whose CRC fails: it is skipped,
 * so a reader never takes a half-written record for a whole one. The first line names the format;
 * a file with any other first line is read as empty (start afresh, never guess).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './crc32.js';

export class RecordLog {
  constructor(
    readonly file: string,
    private readonly versionLine: string,
  ) {}

  /** The bodies of every intact record, oldest first; [] when there is no log yet. */
  read(): string[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n');
    if (lines[0] !== this.versionLine) return [];
    const bodies: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const body = checkedBody(lines[i]!);
      if (body !== undefined) bodies.push(body);
    }
    return bodies;
  }

  /** Appends records (bodies must not contain a newline). Starts the file if there is none. */
  append(bodies: readonly string[]): void {
    if (bodies.length === 0) return;
    if (!fs.existsSync(this.file)) {
      this.rewrite(bodies);
      return;
    }
    fs.appendFileSync(this.file, bodies.map(line).join(''));
  }

  /** Replaces the whole log (temp file + rename: readers see the old or the new one, whole). */
  rewrite(bodies: readonly string[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const text = `${this.versionLine}\n${bodies.map(line).join('')}`;
    try {
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true }); // a full disk must not keep a partial log around
      throw err;
    }
    // Only a hint for `outgrown`: a torn, stale or missing one just makes a compaction come
    // sooner, so failing to write it (a full disk) is no reason to fail the command.
    try {
      fs.writeFileSync(this.baseFile, String(Buffer.byteLength(text)));
    } catch {
      fs.rmSync(this.baseFile, { force: true });
    }
  }

  /**
   * Whether the log has grown to more than twice its size at the last rewrite (plus 1 MiB): the
   * point where a writer that never reads it (a checkout) should read it once and compact. Without
   * this, a repo whose commands only ever append (checkouts, and statuses answered by tree hits)
   * grew its log by every checkout's records forever.
   */
  outgrown(): boolean {
    const size = fs.statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
    let base = 0;
    try {
      base = Number.parseInt(fs.readFileSync(this.baseFile, 'utf8'), 10) || 0;
    } catch {
      // no rewrite recorded yet (or by an older cpv): measure from nothing
    }
    return size > 2 * base + GROWTH_SLACK;
  }

  private get baseFile(): string {
    return `${this.file}.base`;
  }
}

/** Growth allowed past twice the compacted size before an unread log is compacted. */
const GROWTH_SLACK = 1 << 20;

function line(body: string): string {
  return `${body}\t${crc32(body).toString(16)}\n`;
}

function checkedBody(text: string): string | undefined {
  const cut = text.lastIndexOf('\t');
  if (cut < 0) return undefined;
  const body = text.slice(0, cut);
  return crc32(body).toString(16) === text.slice(cut + 1) ? body : undefined;
}
