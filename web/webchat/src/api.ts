/** The only code that calls the web chat's routes with fetch (the stream is an EventSource). */

/** An answer that was not 2xx: the envelope's description, and the status. */
export type ApiError = Error & { status?: number };

export type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** Calls under `base` (the page's own path, /webchat/{botId}) with the session's token, if any. */
export function createApi(base: string, token: () => string | null): Api {
  return <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const current = token();
    if (current) headers.authorization = `Bearer ${current}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(base + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    }).then((res) =>
      res
        .json()
        .catch(() => null)
        .then((data) => {
          if (res.ok) return data as T;
          const err: ApiError = new Error(data?.error?.description || `HTTP ${res.status}`);
          err.status = res.status;
          throw err;
        }),
    );
  };
}

export function statusOf(err: unknown): number | undefined {
  return (err as ApiError | null)?.status;
}
