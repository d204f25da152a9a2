import { JsonObject } from '../types';

/** Pipedrive's error bodies, byte for byte where the documentation quotes them. */

export const ERROR_INFO = 'Please check developers.pipedrive.com';

export function errorEnvelope(error: string, extra: JsonObject = {}): JsonObject {
  return {
    success: false,
    error,
    error_info: ERROR_INFO,
    data: null,
    additional_data: null,
    ...extra,
  };
}

/** Thrown by endpoint handlers; the server turns it into the JSON envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly extra: JsonObject = {},
  ) {
    super(error);
  }

  body(): JsonObject {
    return errorEnvelope(this.error, { errorCode: this.status, ...this.extra });
  }
}

export function badRequest(message: string): ApiError {
  // v2 validation errors carry a machine-readable code next to the message.
  return new ApiError(400, message, { code: 'ERR_SCHEMA_VALIDATION_FAILED' });
}

export function notFound(message: string): ApiError {
  return new ApiError(404, message);
}

export const UNAUTHORIZED_BODY: JsonObject = {
  success: false,
  error: 'unauthorized access',
  errorCode: 401,
  error_info: ERROR_INFO,
};

export const BURST_LIMIT_BODY: JsonObject = {
  success: false,
  error: 'Request over limit',
  errorCode: 429,
};

export const DAILY_BUDGET_BODY: JsonObject = errorEnvelope('daily request budget exceeded', {
  errorCode: 429,
});

export const FORBIDDEN_BODY: JsonObject = errorEnvelope(
  "You don't have permission to access this resource",
  { errorCode: 403 },
);

export function goneError(): ApiError {
  return new ApiError(410, 'Gone', {
    error_info: 'This endpoint has been removed. Please check developers.pipedrive.com',
  });
}

/** What Cloudflare shows a client that kept hammering after 429s. */
export const CLOUDFLARE_BLOCK_HTML = `<!DOCTYPE html>
<html lang="en-US"><head><title>Attention Required! | Cloudflare</title></head>
<body><div id="cf-wrapper"><h1>Sorry, you have been blocked</h1>
<p>You are unable to access pipedrive.com</p>
<p>Cloudflare Ray ID: <strong>8a1b2c3d4e5f6789</strong></p></div></body></html>
`;

export const BAD_GATEWAY_HTML = `<html>
<head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body>
</html>
`;

export const MAINTENANCE_HTML = `<!DOCTYPE html>
<html><head><title>Pipedrive is under maintenance</title></head>
<body><h1>We'll be back shortly</h1></body></html>
`;
