/**
 * Who is signed in. The credential lives in this tab only: in memory, and in sessionStorage so a
 * reload keeps the tab signed in. Never localStorage (it outlives the tab and is shared with
 * every other tab), never the URL (it ends up in history and logs), never a cookie.
 */
export type ProjectAuth =
  | { readonly type: 'apiKey'; readonly apiKey: string }
  | { readonly type: 'basic'; readonly clientId: string; readonly clientSecret: string };

export type Session =
  | { readonly kind: 'admin'; readonly token: string }
  | { readonly kind: 'project'; readonly projectId: string; readonly auth: ProjectAuth };

const KEY = 'relevo.console.session';

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.kind === 'admin') return typeof v.token === 'string';
  if (v.kind !== 'project' || typeof v.projectId !== 'string') return false;
  const auth = v.auth as Record<string, unknown> | undefined;
  if (auth?.type === 'apiKey') return typeof auth.apiKey === 'string';
  return auth?.type === 'basic' && typeof auth.clientId === 'string' && typeof auth.clientSecret === 'string';
}

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const parsed: unknown = raw === null ? undefined : JSON.parse(raw);
    return isSession(parsed) ? parsed : undefined;
  } catch {
    // Storage turned off, or a value this version does not understand: sign in again.
    return undefined;
  }
}

export function saveSession(session: Session | undefined): void {
  try {
    if (session === undefined) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify(session));
  } catch {
    // Without storage the credential stays in memory only; a reload asks for it again.
  }
}

/** The headers that authenticate a request with this session. */
export function authHeaders(session: Session): Record<string, string> {
  if (session.kind === 'admin') return { authorization: `Bearer ${session.token}` };
  if (session.auth.type === 'apiKey') return { 'x-api-key': session.auth.apiKey };
  const pair = new TextEncoder().encode(`${session.auth.clientId}:${session.auth.clientSecret}`);
  return { authorization: `Basic ${btoa(String.fromCharCode(...pair))}` };
}
