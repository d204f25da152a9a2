import { randomBytes } from 'node:crypto';

import { JsonObject } from '../types';

/**
 * Pipedrive's OAuth 2 token endpoint (`POST /oauth/token`, refresh grant only) and the
 * access tokens it issued. Access tokens expire on the wall clock (the connector's clock), not
 * the fake clock. Every refresh rotates the refresh token unless rotation is switched off; the
 * old one is then refused, like a single-use refresh token.
 */

export interface FakeOAuthOptions {
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** Lifetime of an access token in seconds (Pipedrive: about an hour). */
  accessTokenLifetimeSeconds?: number;
  /** Issue a new refresh token with every refresh (default true). */
  rotateRefreshTokens?: boolean;
}

export interface TokenRequestLogEntry {
  /** Wall-clock epoch milliseconds. */
  t: number;
  grantType: string;
  status: number;
  /** True when the answer carried a new refresh token. */
  rotated: boolean;
}

export interface OAuthAnswer {
  status: number;
  body: JsonObject;
}

const token = (kind: string): string => `fake-${kind}-${randomBytes(12).toString('hex')}`;

export class FakeOAuthServer {
  readonly clientId: string;
  readonly clientSecret: string;
  accessTokenLifetimeSeconds: number;
  rotateRefreshTokens: boolean;
  readonly log: TokenRequestLogEntry[] = [];
  private refreshToken: string;
  private revoked = false;
  /** Access token → wall-clock expiry (epoch ms). Older tokens stay known, and expired. */
  private readonly accessTokens = new Map<string, number>();

  constructor(options: FakeOAuthOptions = {}) {
    this.clientId = options.clientId ?? 'fake-client-id';
    this.clientSecret = options.clientSecret ?? 'fake-client-secret-5d41402abc4b2a76';
    this.refreshToken = options.refreshToken ?? token('refresh');
    this.accessTokenLifetimeSeconds = options.accessTokenLifetimeSeconds ?? 3600;
    this.rotateRefreshTokens = options.rotateRefreshTokens ?? true;
  }

  /** The refresh token a client must present now. */
  get currentRefreshToken(): string {
    return this.refreshToken;
  }

  /** Issues an access token directly (a config that already holds a valid one). */
  issueAccessToken(lifetimeSeconds = this.accessTokenLifetimeSeconds): {
    accessToken: string;
    expiresAt: Date;
  } {
    const accessToken = token('access');
    const expiresAt = Date.now() + lifetimeSeconds * 1000;
    this.accessTokens.set(accessToken, expiresAt);
    return { accessToken, expiresAt: new Date(expiresAt) };
  }

  /** Every access token issued so far stops working (as if an hour had passed). */
  expireAccessTokens(): void {
    for (const key of this.accessTokens.keys()) this.accessTokens.set(key, 0);
  }

  /** The user uninstalled the app: the refresh token and every access token are refused. */
  revoke(): void {
    this.revoked = true;
  }

  /** Whether the API accepts this bearer token now. */
  accepts(accessToken: string): boolean {
    const expiresAt = this.accessTokens.get(accessToken);
    return !this.revoked && expiresAt !== undefined && Date.now() < expiresAt;
  }

  /** The answer to `POST /oauth/token` with the given Authorization header and form body. */
  handle(authorization: string | undefined, body: string, apiDomain: string): OAuthAnswer {
    const form = new URLSearchParams(body);
    const grantType = form.get('grant_type') ?? '';
    const answer = this.answer(authorization, form, grantType, apiDomain);
    this.log.push({
      t: Date.now(),
      grantType,
      status: answer.status,
      rotated: answer.status === 200 && answer.body.refresh_token !== form.get('refresh_token'),
    });
    return answer;
  }

  private answer(
    authorization: string | undefined,
    form: URLSearchParams,
    grantType: string,
    apiDomain: string,
  ): OAuthAnswer {
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (authorization !== expected) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Invalid client credentials' },
      };
    }
    if (grantType !== 'refresh_token') {
      return {
        status: 400,
        body: {
          error: 'unsupported_grant_type',
          error_description: 'This fake only refreshes tokens',
        },
      };
    }
    if (this.revoked || form.get('refresh_token') !== this.refreshToken) {
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'Invalid or expired refresh token' },
      };
    }
    if (this.rotateRefreshTokens) this.refreshToken = token('refresh');
    const { accessToken } = this.issueAccessToken();
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        refresh_token: this.refreshToken,
        scope: 'base,deals:read,contacts:read,activities:read,products:read,users:read',
        expires_in: this.accessTokenLifetimeSeconds,
        api_domain: apiDomain,
      },
    };
  }
}
