/**
 * Which methods each path takes, for the `Allow` header of a 405: a request whose path matches
 * a route but whose method matches none gets `method_not_allowed`, not `route_not_found`, so the
 * caller looks at its method rather than at its URL (RFC 9110 §15.5.6).
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

interface Template {
  readonly pattern: RegExp;
  readonly methods: Set<string>;
}

/** `/v1/x/:id/*` → a regex over the raw path: a parameter is one non-empty segment, `*` the rest. */
function compile(url: string): RegExp {
  const segments = url.split('/').map((s) => {
    if (s === '*') return '.*';
    if (s.startsWith(':')) return '[^/]+';
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}

export class RouteMethods {
  private readonly templates = new Map<string, Template>();

  add(method: string | readonly string[], url: string): void {
    let t = this.templates.get(url);
    if (t === undefined) {
      t = { pattern: compile(url), methods: new Set() };
      this.templates.set(url, t);
    }
    for (const m of typeof method === 'string' ? [method] : method) t.methods.add(m.toUpperCase());
  }

  /** The methods some route takes at `path` (without its query), sorted; empty for none. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const t of this.templates.values()) {
      if (t.pattern.test(path)) for (const m of t.methods) out.add(m);
    }
    return [...out].sort();
  }
}

/** Records in `methods` every route registered on `app` from now on (call it before the routes). */
export function trackRouteMethods(app: FastifyInstance, methods: RouteMethods): void {
  app.addHook('onRoute', (route) => methods.add(route.method, route.url ?? route.path));
}

/** 405 with `Allow` when the path takes other methods, else 404 `route_not_found`. */
export function routeMiss(methods: RouteMethods, method: string, url: string): ApiError {
  const path = url.split('?')[0] ?? url;
  const allow = methods.allowed(path);
  if (allow.length > 0 && !allow.includes(method)) {
    return new ApiError(
      'method_not_allowed',
      `${method} is not allowed on ${path}; it takes ${allow.join(', ')}.`,
      {},
      { headers: { allow: allow.join(', ') } },
    );
  }
  return new ApiError('route_not_found', `No route for ${method} ${path}.`);
}
