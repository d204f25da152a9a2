/**
 * Errors the connector reports to Airbyte. Every error a user can act on is a
 * ConnectorError with a failure type and a message that says what to fix; any
 * other exception is a bug and is reported as a system_error with its stack.
 */
export type FailureType = 'config_error' | 'transient_error' | 'system_error';

export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly failureType: FailureType,
    readonly internalMessage?: string,
    /** The HTTP status Pipedrive answered, when the error is an answer. */
    readonly status?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad config, catalog, token or permission: the user must change something. */
export class ConfigError extends ConnectorError {
  constructor(message: string, internalMessage?: string, status?: number) {
    super(message, 'config_error', internalMessage, status);
  }
}

/** Rate limits, outages, broken responses: retrying later should work. */
export class TransientError extends ConnectorError {
  constructor(message: string, internalMessage?: string) {
    super(message, 'transient_error', internalMessage);
  }
}

/** The token lacks a permission for one endpoint: that stream fails, the others continue. */
export class PermissionError extends ConfigError {}

/** A per-parent resource disappeared (404/410): skipped with a warning. */
export class ResourceGoneError extends ConnectorError {
  constructor(
    message: string,
    override readonly status: number,
  ) {
    super(message, 'transient_error', undefined, status);
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
  ) {
    super(message);
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
