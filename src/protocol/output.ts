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

export interface OutputSink {
  write(chunk: string): boolean;
  once(event: 'drain' | 'close' | 'error', listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

export class ProtocolWriter {
  private chunks: string[] = [];
  private bufferedBytes = 0;
  private readonly recordsSinceState = new Map<string, number>();
  private readonly recordPrefixes = new Map<string, string>();
  private readonly secrets: string[] = [];
  private closed = false;
  readonly minLogLevel: LogLevel;

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
    let prefix = this.recordPrefixes.get(stream);
    if (!prefix) {
      prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"emitted_at":`;
      this.recordPrefixes.set(stream, prefix);
    }
    this.recordsSinceState.set(stream, (this.recordsSinceState.get(stream) ?? 0) + 1);
    this.push(`${prefix}${Date.now()},"data":${JSON.stringify(data)}}}\n`);
    if (this.bufferedBytes >= FLUSH_BYTES) await this.flush();
  }

  /** A STREAM state carrying the number of records emitted since the stream's previous state. */
  async state(stream: string, streamState: Record<string, unknown>): Promise<void> {
    const recordCount = this.recordsSinceState.get(stream) ?? 0;
    this.recordsSinceState.set(stream, 0);
    this.pushMessage({
        type: 'STATE',
        state: {
          type: 'STREAM',
          stream: { stream_descriptor: { name: stream }, stream_state: streamState },
          sourceStats: { recordCount },
        },
      });
    await this.flush();
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

  async catalog(streams: Record<string, unknown>[]): Promise<void> {
    this.pushMessage({ type: 'CATALOG', catalog: { streams } }, false);
    await this.flush();
  }

  /** Writes what is buffered; resolves once the sink accepted it (or went away). */
  async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const text = this.chunks.length === 1 ? this.chunks[0] : this.chunks.join('');
    this.chunks = [];
    this.bufferedBytes = 0;
    if (this.closed) return;
    if (this.sink.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.sink.removeListener('drain', done);
        this.sink.removeListener('close', done);
        this.sink.removeListener('error', done);
        resolve();
      };
      this.sink.once('drain', done);
      this.sink.once('close', done);
      this.sink.once('error', done);
    });
  }

  private pushMessage(message: Record<string, unknown>, redact = true): void {
    const line = JSON.stringify(message);
    this.push(`${redact ? this.redact(line) : line}\n`);
  }

  private push(line: string): void {
    this.chunks.push(line);
    this.bufferedBytes += line.length;
  }
}
