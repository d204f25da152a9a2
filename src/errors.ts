import VError from 'verror';

/**
 * Errors the connector reports to Airbyte. Every error a user can act on is a
 * ConnectorError with a failure type and a message that says what to fix; any
 * other exception is a bug and is reported as a system_error with its stack.
 *
 * ConnectorError is a VError: it can wrap the error that caused it (the HTTP
 * failure under a stream's error) and carry `info` (endpoint, status, stream …).
 * The message of a wrapping error ends with its cause's message, as VError
 * does; `VError.fullStack(error)` gives the whole chain for the TRACE's
 * internal_message, `VError.info(error)` the merged info.
 */
export type FailureType = 'config_error' | 'transient_error' | 'system_error';

/** What an error can say about where it happened. */
export interface ErrorInfo {
  /** The endpoint label (`GET /v2/deals`), never a URL with a query. */
  endpoint?: string;
  /** The HTTP status Pipedrive answered, when there was an answer. */
  status?: number;
  stream?: string;
  /** The host a network error was about (`acme.pipedrive.com`). */
  host?: string;
  /** A network error code (`ECONNRESET`, `ENOTFOUND`). */
  code?: string;
  [key: string]: unknown;
}

export interface ErrorOptions {
  cause?: Error;
  info?: ErrorInfo;
  /** Text for the TRACE's internal_message instead of the cause chain. */
  internalMessage?: string;
  /** Keep the message as given instead of appending the cause's message. */
  skipCauseMessage?: boolean;
}

function optionsOf(options: string | ErrorOptions | undefined): ErrorOptions {
  if (typeof options === 'string') return { internalMessage: options };
  return options ?? {};
}

export class ConnectorError extends VError {
  readonly internalMessage?: string;

  constructor(
    message: string,
    readonly failureType: FailureType,
    options?: string | ErrorOptions,
  ) {
    const { cause, info, internalMessage, skipCauseMessage } = optionsOf(options);
    // '%s': a message is text, never a printf format ("93% of the limit").
    super(
      { name: new.target.name, cause, info, skipCauseMessage } as VError.Options,
      '%s',
      message,
    );
    this.internalMessage = internalMessage;
  }

  /** info of this error and of its causes (the nearest wins). */
  get info(): ErrorInfo {
    return VError.info(this) as ErrorInfo;
  }

  /** The HTTP status Pipedrive answered, when the error is (or wraps) an answer. */
  get status(): number | undefined {
    const status = this.info.status;
    return typeof status === 'number' ? status : undefined;
  }
}

/** Bad config, catalog, token or permission: the user must change something. */
export class ConfigError extends ConnectorError {
  constructor(message: string, options?: string | ErrorOptions) {
    super(message, 'config_error', options);
  }
}

/** Rate limits, outages, broken responses: retrying later should work. */
export class TransientError extends ConnectorError {
  constructor(message: string, options?: string | ErrorOptions) {
    super(message, 'transient_error', options);
  }
}

/** The token lacks a permission for one endpoint: that stream fails, the others continue. */
export class PermissionError extends ConfigError {}

/** A per-parent resource disappeared (404/410): skipped with a warning. */
export class ResourceGoneError extends ConnectorError {
  constructor(message: string, status: number, options: ErrorOptions = {}) {
    super(message, 'transient_error', { ...options, info: { status, ...options.info } });
  }
}

/**
 * The account-wide daily API token budget is spent. The whole sync must stop
 * (every further call would be refused and repeated 429s end in a block).
 */
export class DailyBudgetExhaustedError extends TransientError {
  constructor(
    message: string,
    readonly resetsAt?: Date,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request of a stream that already stopped; never reported (the stop itself is). */
export class CancelledError extends ConnectorError {
  constructor(message: string) {
    super(message, 'transient_error');
  }
}

/** 401/402: nothing else will work either, so the sync stops. */
export class AccountError extends ConfigError {}

export function isSyncFatal(error: unknown): boolean {
  return error instanceof DailyBudgetExhaustedError || error instanceof AccountError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * The error of one stream, wrapping what stopped it (keeps the cause's failure type):
 * "Stream deals: Pipedrive answered 503 for GET /v2/deals; gave up after 6 attempts …".
 */
export function streamError(stream: string, cause: unknown): ConnectorError {
  const failureType = cause instanceof ConnectorError ? cause.failureType : 'system_error';
  const wrapped = cause instanceof Error ? cause : new Error(String(cause));
  return new ConnectorError(`Stream ${stream}`, failureType, {
    cause: wrapped,
    info: { stream },
  });
}

/**
 * The fields of a TRACE ERROR for a ConnectorError. internal_message is VError's full stack
 * with the merged info when the error wraps a cause or carries info (where it helps to see the
 * chain from the HTTP failure up); a plain config mistake needs no stack.
 */
export function traceOf(error: ConnectorError): {
  message: string;
  failureType: FailureType;
  internalMessage?: string;
} {
  const info = error.info;
  const hasInfo = Object.keys(info).length > 0;
  let internalMessage = error.internalMessage;
  if (internalMessage === undefined && (VError.cause(error) || hasInfo)) {
    internalMessage = `${VError.fullStack(error)}${hasInfo ? `\ninfo: ${JSON.stringify(info)}` : ''}`;
  }
  return { message: error.message, failureType: error.failureType, internalMessage };
}
