import type { FailureType } from '../errors';

/**
 * The one place that writes to stdout. Every line is a single Airbyte protocol
 * message; nothing else (no CDK heartbeat, no LEGACY state, no Faros fields)
 * reaches Airbyte. Records are buffered and written with backpressure so a
 * slow consumer slows the reader instead of growing memory.
 */
export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';
export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';

const LOG_ORDER: Record<LogLevel, number> = {
  TRACE: 0,
  DEBUG: 1,
  INFO: 2,
  WARN: 3,
  ERROR: 4,
  FATAL: 5,
};

const FLUSH_BYTES = 256 * 1024;
/** What is written between two flushes, plus room for the largest usual line. */
const CHUNK_BYTES = FLUSH_BYTES + 64 * 1024;
/** UTF-8 needs at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_BYTES_PER_CHAR = 3;
const NO_BYTES = Buffer.alloc(0);
const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;

export interface OutputSink {
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  once(event: 'drain' | 'close' | 'error', listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

export class ProtocolWriter {
  /**
   * Lines are encoded into UTF-8 bytes as they come instead of being joined as strings: a
   * few records with non-Latin-1 text turned every joined chunk into a two-byte string, and
   * joining then encoding cost more than serialising the records.
   */
  private chunk: Buffer = NO_BYTES;
  private used = 0;
  /** Full chunks waiting for the next flush (only when one line did not fit). */
  private sealed: Buffer[] = [];
  private sealedBytes = 0;
  private readonly recordsSinceState = new Map<string, number>();
  private readonly recordPrefixes = new Map<string, string>();
  private readonly secrets: string[] = [];
  private closed = false;
  /** The sink's pending drain, shared by every stream waiting for it. */
  private draining?: Promise<void>;
  /** After a SIGTERM: nothing more but CONTROL (see terminate). */
  private terminated = false;
  /** What to write last when the process is asked to stop (the runner's states). */
  private finalWords?: () => Array<[string, Record<string, unknown>]>;
  readonly minLogLevel: LogLevel;
  /** The writer of this process (the one SIGTERM flushes). */
  static current?: ProtocolWriter;

  constructor(
    private readonly sink: OutputSink = process.stdout,
    logLevel: string | undefined = process.env.LOG_LEVEL,
  ) {
    const level = logLevel?.toUpperCase() as LogLevel | undefined;
    this.minLogLevel = level && level in LOG_ORDER ? level : 'INFO';
    sink.once('error', () => {
      // EPIPE: the reader went away; stop writing instead of crashing.
      this.closed = true;
    });
    ProtocolWriter.current = this;
  }

  /**
   * The states to write if the process is asked to stop (SIGTERM) mid-read: the runner's
   * current checkpoints, which only claim finished work.
   */
  onTerminate(finalStates: (() => Array<[string, Record<string, unknown>]>) | undefined): void {
    this.finalWords = finalStates;
  }

  /**
   * SIGTERM: in one synchronous step, write each running stream's last checkpoint and stop
   * taking anything else but CONTROL (work still under way would otherwise emit states
   * claiming records that were never written, and statuses after them); then resolves once
   * stdout has taken every byte, so the output ends on whole lines, the last ones STATEs.
   */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    const states = this.finalWords?.() ?? [];
    for (const [stream, streamState] of states) this.pushState(stream, streamState);
    this.terminated = true;
    await this.flush();
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      if (!this.sink.write('', () => resolve())) this.sink.once('drain', () => resolve());
    });
  }

  /** Strings (tokens) that must never appear in logs, errors or traces. */
  addSecret(secret: string | undefined): void {
    if (secret && secret.length >= 4 && !this.secrets.includes(secret)) {
      this.secrets.push(secret);
    }
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.secrets) {
      if (result.includes(secret)) result = result.split(secret).join('***');
    }
    return result;
  }

  async record(stream: string, data: Record<string, unknown>): Promise<void> {
    if (this.terminated) return;
    let prefix = this.recordPrefixes.get(stream);
    if (!prefix) {
      prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"emitted_at":`;
      this.recordPrefixes.set(stream, prefix);
    }
    this.recordsSinceState.set(stream, (this.recordsSinceState.get(stream) ?? 0) + 1);
    const head = `${prefix}${Date.now()},"data":`;
    const json = JSON.stringify(data);
    // Head and data are encoded separately: concatenating first would copy the record again.
    this.reserve((head.length + json.length) * MAX_UTF8_BYTES_PER_CHAR + 3);
    const chunk = this.chunk;
    let at = this.used;
    at += chunk.write(head, at, 'utf8');
    at += chunk.write(json, at, 'utf8');
    chunk[at++] = CLOSE_BRACE;
    chunk[at++] = CLOSE_BRACE;
    chunk[at++] = NEWLINE;
    this.used = at;
    if (this.bufferedBytes >= FLUSH_BYTES) await this.flush();
  }

  /** A STREAM state carrying the number of records emitted since the stream's previous state. */
  async state(stream: string, streamState: Record<string, unknown>): Promise<void> {
    if (this.terminated) return;
    this.pushState(stream, streamState);
    await this.flush();
  }

  private pushState(stream: string, streamState: Record<string, unknown>): void {
    const recordCount = this.recordsSinceState.get(stream) ?? 0;
    this.recordsSinceState.set(stream, 0);
    this.pushMessage(
      {
        type: 'STATE',
        state: {
          type: 'STREAM',
          stream: { stream_descriptor: { name: stream }, stream_state: streamState },
          sourceStats: { recordCount },
        },
      },
      true,
    );
  }

  async streamStatus(stream: string, status: StreamStatus, quotaResetAt?: Date): Promise<void> {
    const streamStatus: Record<string, unknown> = {
      stream_descriptor: { name: stream },
      status,
    };
    if (quotaResetAt) {
      streamStatus.reasons = [
        { type: 'RATE_LIMITED', rate_limited: { quota_reset: quotaResetAt.getTime() } },
      ];
    }
    this.pushMessage({
      type: 'TRACE',
      trace: { type: 'STREAM_STATUS', emitted_at: Date.now(), stream_status: streamStatus },
    });
    await this.flush();
  }

  async error(
    message: string,
    failureType: FailureType,
    options: { stream?: string; internalMessage?: string; stackTrace?: string } = {},
  ): Promise<void> {
    const error: Record<string, unknown> = { message, failure_type: failureType };
    if (options.internalMessage) error.internal_message = options.internalMessage;
    if (options.stackTrace) error.stack_trace = options.stackTrace;
    if (options.stream) error.stream_descriptor = { name: options.stream };
    this.pushMessage({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error } });
    await this.flush();
  }

  async estimate(stream: string, rowEstimate: number): Promise<void> {
    this.pushMessage({
      type: 'TRACE',
      trace: {
        type: 'ESTIMATE',
        emitted_at: Date.now(),
        estimate: { name: stream, type: 'STREAM', row_estimate: rowEstimate },
      },
    });
    await this.flush();
  }

  log(level: LogLevel, message: string, stackTrace?: string): void {
    if (LOG_ORDER[level] < LOG_ORDER[this.minLogLevel]) return;
    const log: Record<string, unknown> = { level, message };
    if (stackTrace) log.stack_trace = stackTrace;
    this.pushMessage({ type: 'LOG', log });
    if (this.bufferedBytes >= FLUSH_BYTES) void this.flush();
  }

  async spec(spec: Record<string, unknown>): Promise<void> {
    this.pushMessage({ type: 'SPEC', spec }, false);
    await this.flush();
  }

  async connectionStatus(status: 'SUCCEEDED' | 'FAILED', message?: string): Promise<void> {
    const connectionStatus: Record<string, unknown> = { status };
    if (message) connectionStatus.message = message;
    this.pushMessage({ type: 'CONNECTION_STATUS', connectionStatus });
    await this.flush();
  }

  /**
   * Asks Airbyte to store an updated config (a rotated OAuth refresh token). The one message
   * that carries secrets, by design: it is written unredacted, and flushed at once so that a
   * kill right after the rotation cannot lose the only valid refresh token.
   */
  async control(config: Record<string, unknown>): Promise<void> {
    this.pushMessage(
      {
        type: 'CONTROL',
        control: { type: 'CONNECTOR_CONFIG', emitted_at: Date.now(), connectorConfig: { config } },
      },
      false,
    );
    await this.flush();
  }

  /** Plain text for a human (--help, --version): the only non-protocol output, by request. */
  async text(text: string): Promise<void> {
    this.push(text.endsWith('\n') ? text : `${text}\n`);
    await this.flush();
  }

  async catalog(streams: Record<string, unknown>[]): Promise<void> {
    this.pushMessage({ type: 'CATALOG', catalog: { streams } }, false);
    await this.flush();
  }

  /** Writes what is buffered; resolves once the sink accepted it (or went away). */
  async flush(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    const current = this.chunk.subarray(0, this.used);
    const bytes = this.sealed.length === 0 ? current : Buffer.concat([...this.sealed, current]);
    // The sink may hold on to the bytes until written: the next line goes into a new chunk.
    this.chunk = NO_BYTES;
    this.used = 0;
    this.sealed = [];
    this.sealedBytes = 0;
    if (this.closed) return;
    if (this.sink.write(bytes)) return;
    await this.drained();
  }

  /**
   * Resolves when the sink drains (or goes away). Concurrent streams waiting for it share one
   * wait, so the sink never collects a listener per waiting stream.
   */
  private drained(): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.sink.removeListener('drain', done);
        this.sink.removeListener('close', done);
        this.sink.removeListener('error', done);
        this.draining = undefined;
        resolve();
      };
      this.sink.once('drain', done);
      this.sink.once('close', done);
      this.sink.once('error', done);
    });
    return this.draining;
  }

  private pushMessage(message: Record<string, unknown>, redact = true): void {
    // After a SIGTERM's final states the runner still finishes work under way: its statuses
    // (a COMPLETE whose state was dropped), logs and errors would follow the final STATEs.
    // A CONTROL still goes out: it may carry the only valid (rotated) refresh token.
    if (this.terminated && message.type !== 'CONTROL') return;
    const line = JSON.stringify(message);
    this.push(`${redact ? this.redact(line) : line}\n`);
  }

  private get bufferedBytes(): number {
    return this.sealedBytes + this.used;
  }

  /** Makes room for `maxBytes` more bytes in the current chunk. */
  private reserve(maxBytes: number): void {
    if (this.used + maxBytes <= this.chunk.length) return;
    if (this.used > 0) {
      this.sealed.push(this.chunk.subarray(0, this.used));
      this.sealedBytes += this.used;
    }
    this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, maxBytes));
    this.used = 0;
  }

  private push(line: string): void {
    this.reserve(line.length * MAX_UTF8_BYTES_PER_CHAR);
    this.used += this.chunk.write(line, this.used, 'utf8');
  }
}
