import { ApiVersion, Endpoint } from '../endpoints/common';
import { HostMode } from '../types';

/**
 * Maps request paths to endpoints. Pipedrive serves the same API under `/api/v1`, `/v1` (the
 * api.pipedrive.com form) and `/api/v2`; stats use the canonical `/api/{version}{template}`.
 */

export interface RouteMatch {
  endpoint: Endpoint;
  params: Record<string, string>;
  /** Canonical templated path, e.g. `/api/v1/deals/{id}/flow`. */
  template: string;
}

interface CompiledRoute {
  endpoint: Endpoint;
  pattern: RegExp;
  paramNames: string[];
  template: string;
}

const PREFIXES: Array<[prefix: string, version: ApiVersion]> = [
  ['/api/v1', 'v1'],
  ['/v1', 'v1'],
  ['/api/v2', 'v2'],
];

export class Router {
  private readonly routes: CompiledRoute[];

  constructor(endpoints: Endpoint[]) {
    this.routes = endpoints
      .map((endpoint) => {
        const paramNames: string[] = [];
        const source = endpoint.path.replace(/\{(\w+)\}/g, (_, name: string) => {
          paramNames.push(name);
          return '([^/]+)';
        });
        return {
          endpoint,
          pattern: new RegExp(`^${source}/?$`),
          paramNames,
          template: `/api/${endpoint.version}${endpoint.path}`,
        };
      })
      // Static paths win over templates: /deals/archived is not /deals/{id}.
      .sort((left, right) => left.paramNames.length - right.paramNames.length);
  }

  match(pathname: string): RouteMatch | null {
    const canonical = Router.canonicalise(pathname);
    if (!canonical) return null;
    for (const route of this.routes) {
      if (route.endpoint.version !== canonical.version) continue;
      const match = route.pattern.exec(canonical.rest);
      if (!match) continue;
      const params: Record<string, string> = {};
      route.paramNames.forEach((name, index) => {
        params[name] = decodeURIComponent(match[index + 1]);
      });
      return { endpoint: route.endpoint, params, template: route.template };
    }
    return null;
  }

  /**
   * Whether the host serves this path at all: {company}.pipedrive.com knows only `/api/v1`,
   * api.pipedrive.com only `/v1` (`/api/v1/leads` is a 404 there); both serve `/api/v2`.
   */
  static servedOn(hostMode: HostMode, pathname: string): boolean {
    if (hostMode === 'company') return !pathname.startsWith('/v1/');
    if (hostMode === 'global') return !pathname.startsWith('/api/v1/');
    return true;
  }

  /** `/v1/users` → `{version: 'v1', rest: '/users'}`; null outside the API. */
  static canonicalise(pathname: string): { version: ApiVersion; rest: string } | null {
    for (const [prefix, version] of PREFIXES) {
      if (pathname.startsWith(`${prefix}/`))
        return { version, rest: pathname.slice(prefix.length) };
    }
    return null;
  }

  /** The canonical form of a path or path prefix (`/v1/notes` → `/api/v1/notes`). */
  static canonicalPath(path: string): string {
    const canonical = Router.canonicalise(path.endsWith('/') ? path : `${path}/`);
    if (!canonical) return path;
    return `/api/${canonical.version}${canonical.rest}`.replace(/\/$/, '');
  }
}
