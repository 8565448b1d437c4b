// Writes access log lines without ever holding up the request path: a line joins an in-memory
// buffer and returns; one write at a time drains the buffer to the file. When the file is slower
// than the traffic the buffer fills to its bound and further lines are dropped and counted, rather
// than memory growing or requests waiting.
import { closeSync, constants, fchmodSync, fstatSync, openSync, write } from 'node:fs';

export interface AccessLogWriterOptions {
  /** Bytes waiting to be written; past it lines are dropped (default 4 MiB). */
  readonly maxBufferBytes?: number;
  /** Mode of a log file the writer creates, or tightens an existing one to (default 0640). */
  readonly mode?: 0o640 | 0o600;
}

export interface AccessLogWriterStats {
  readonly linesWritten: number;
  readonly linesDropped: number;
  readonly writeErrors: number;
  readonly bufferedBytes: number;
}

/** Longest line written; a longer one is cut and marked, so one request cannot take the buffer. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * An access log destination: `/dev/stdout`, `/dev/stderr`, or a regular file opened for append
 * (never through a symbolic link, created 0640 or tightened to it).
 */
export class AccessLogWriter {
  readonly path: string;
  readonly #fd: number;
  readonly #own: boolean;
  readonly #max: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #writing = false;
  #closed = false;
  #drained: (() => void)[] = [];
  #stats = { linesWritten: 0, linesDropped: 0, writeErrors: 0 };

  constructor(path: string, opts: AccessLogWriterOptions = {}) {
    this.path = path;
    this.#max = opts.maxBufferBytes ?? 4 * 1024 * 1024;
    if (path === '/dev/stdout' || path === '/dev/stderr') {
      this.#fd = path === '/dev/stdout' ? 1 : 2;
      this.#own = false;
      return;
    }
    const mode = opts.mode ?? 0o640;
    const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, mode);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new Error(`access log ${path} is not a regular file`);
      if ((st.mode & 0o777 & ~mode) !== 0) fchmodSync(fd, mode);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.#fd = fd;
    this.#own = true;
  }

  /** Queues one line (a newline is added); false when it was dropped because the buffer is full. */
  write(line: string): boolean {
    if (this.#closed) return false;
    const text = line.length > MAX_LINE_BYTES ? `${line.slice(0, MAX_LINE_BYTES)}...[truncated]\n` : `${line}\n`;
    if (this.#pendingBytes + text.length > this.#max) {
      this.#stats.linesDropped++;
      return false;
    }
    this.#pending.push(text);
    this.#pendingBytes += text.length;
    if (!this.#writing) this.#flush();
    return true;
  }

  get stats(): AccessLogWriterStats {
    return { ...this.#stats, bufferedBytes: this.#pendingBytes };
  }

  /** Resolves once everything queued so far is written (or failed). */
  drain(): Promise<void> {
    if (!this.#writing && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Writes what is queued, then closes the file. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    if (this.#own) closeSync(this.#fd);
  }

  #flush(): void {
    if (this.#pending.length === 0) {
      this.#writing = false;
      for (const resolve of this.#drained.splice(0)) resolve();
      return;
    }
    this.#writing = true;
    const lines = this.#pending.length;
    const chunk = Buffer.from(this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writeAll(chunk, 0, (ok) => {
      if (ok) this.#stats.linesWritten += lines;
      else {
        this.#stats.writeErrors++;
        this.#stats.linesDropped += lines;
      }
      this.#flush();
    });
  }

  #writeAll(chunk: Buffer, offset: number, done: (ok: boolean) => void): void {
    write(this.#fd, chunk, offset, chunk.length - offset, null, (err, n) => {
      if (err) return done(false);
      if (offset + n < chunk.length) return this.#writeAll(chunk, offset + n, done);
      done(true);
    });
  }
}
