/**
 * Signing in: with the admin token (every project), or with one project's credential (its API
 * key, or its client id and secret). The credential is checked against the server before the
 * console opens, so a typo is said here, on the form, and not by the first screen.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ADMIN, API, ApiClient, ApiFailure, describeError, enc, NetworkError, Unauthorized } from '../api';
import { ErrorNote } from '../components/states';
import type { Session } from '../session';

type Way = 'admin' | 'apiKey' | 'basic';

/** One cheap authenticated read per kind of credential: proves it without changing anything. */
async function check(session: Session): Promise<void> {
  const api = new ApiClient(session);
  if (session.kind === 'admin') await api.get(`${ADMIN}/projects?limit=1`);
  else await api.get(`${API}/external-support/${enc(session.projectId)}/conversations?limit=1`);
}

function refusal(e: unknown, way: Way): string {
  if (e instanceof Unauthorized) {
    return way === 'admin'
      ? 'The admin token was not accepted. Check it and try again.'
      : 'This credential was not accepted for that project: check the project id and the credential, which may have been revoked.';
  }
  if (e instanceof ApiFailure && e.code === 'admin_api_disabled') {
    return 'The admin API is off on this server (RELEVO_ADMIN_TOKEN=off): sign in with a project credential.';
  }
  if (e instanceof ApiFailure && e.status === 404 && way !== 'admin') {
    return 'No project has that id.';
  }
  if (e instanceof NetworkError)
    return 'relevo is not reachable. Check that the server is running, then try again.';
  return describeError(e);
}

export function SignIn({
  message,
  onSignedIn,
}: {
  readonly message: string | undefined;
  readonly onSignedIn: (session: Session) => void;
}) {
  const [way, setWay] = useState<Way>('admin');
  const [token, setToken] = useState('');
  const [projectId, setProjectId] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = 'Sign in · relevo console';
    heading.current?.focus();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    const session: Session =
      way === 'admin'
        ? { kind: 'admin', token: token.trim() }
        : {
            kind: 'project',
            projectId: projectId.trim(),
            auth:
              way === 'apiKey'
                ? { type: 'apiKey', apiKey: apiKey.trim() }
                : { type: 'basic', clientId: clientId.trim(), clientSecret: clientSecret.trim() },
          };
    setBusy(true);
    setError(undefined);
    try {
      await check(session);
      onSignedIn(session);
    } catch (err) {
      setError(refusal(err, way));
      setBusy(false);
    }
  };

  return (
    <main class="signin" id="main">
      <div class="signin-card">
        <p class="brand brand-static">
          relevo <span class="brand-sub">console</span>
        </p>
        <h1 tabIndex={-1} ref={heading}>
          Sign in
        </h1>
        {message !== undefined ? (
          <p class="state state-info" role="status">
            {message}
          </p>
        ) : null}
        <form onSubmit={(e) => void submit(e)} aria-describedby={error ? 'signin-error' : undefined}>
          <fieldset class="choice">
            <legend>Sign in with</legend>
            <label>
              <input type="radio" name="way" checked={way === 'admin'} onChange={() => setWay('admin')} />
              The admin token (every project)
            </label>
            <label>
              <input type="radio" name="way" checked={way === 'apiKey'} onChange={() => setWay('apiKey')} />A
              project's API key
            </label>
            <label>
              <input type="radio" name="way" checked={way === 'basic'} onChange={() => setWay('basic')} />A
              project's client id and secret
            </label>
          </fieldset>
          {way === 'admin' ? (
            <div class="field">
              <label for="token">Admin token</label>
              <input
                id="token"
                class="input mono"
                type="password"
                required
                autocomplete="off"
                value={token}
                onInput={(e) => setToken(e.currentTarget.value)}
              />
              <p class="hint">RELEVO_ADMIN_TOKEN, or the token printed on the server's first start.</p>
            </div>
          ) : (
            <div class="field">
              <label for="project-id">Project id</label>
              <input
                id="project-id"
                class="input mono"
                required
                autocomplete="off"
                spellcheck={false}
                value={projectId}
                onInput={(e) => setProjectId(e.currentTarget.value)}
              />
            </div>
          )}
          {way === 'apiKey' ? (
            <div class="field">
              <label for="api-key">API key</label>
              <input
                id="api-key"
                class="input mono"
                type="password"
                required
                autocomplete="off"
                value={apiKey}
                onInput={(e) => setApiKey(e.currentTarget.value)}
              />
            </div>
          ) : null}
          {way === 'basic' ? (
            <>
              <div class="field">
                <label for="client-id">Client id</label>
                <input
                  id="client-id"
                  class="input mono"
                  required
                  autocomplete="off"
                  spellcheck={false}
                  value={clientId}
                  onInput={(e) => setClientId(e.currentTarget.value)}
                />
              </div>
              <div class="field">
                <label for="client-secret">Client secret</label>
                <input
                  id="client-secret"
                  class="input mono"
                  type="password"
                  required
                  autocomplete="off"
                  value={clientSecret}
                  onInput={(e) => setClientSecret(e.currentTarget.value)}
                />
              </div>
            </>
          ) : null}
          {error !== undefined ? (
            <div id="signin-error">
              <ErrorNote>{error}</ErrorNote>
            </div>
          ) : null}
          <button type="submit" class="button button-primary button-wide" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          <p class="hint">The credential stays in this browser tab only, and is forgotten when it closes.</p>
        </form>
      </div>
    </main>
  );
}
