/**
 * Client-side routes under /console: the server answers index.html for every path there, and
 * this module maps the path to a screen. History API only; no hash, no query: nothing secret
 * ever goes into the URL.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';

/** Where a screen lives, relative to /console: '/', '/projects/abc', ... */
export function currentPath(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return path === '' ? '/' : path;
}

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  const url = `${BASE}${path === '/' ? '/' : path}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
}

/** The current path; re-renders on navigation and on the browser's back and forward. */
export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A path's segments, decoded: '/projects/p%201' → ['projects', 'p 1']. */
export function segments(path: string): string[] {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

export function projectPath(projectId: string, screen = ''): string {
  return `/projects/${encodeURIComponent(projectId)}${screen === '' ? '' : `/${screen}`}`;
}
