/**
 * Integration (console.md): where the project's events go (docs/api.md §4.1–§4.5). Create it,
 * change its URL or the way relevo authenticates to it, rotate its signing secret (shown once),
 * delete it, and send a test event of each type (§5.9) to try the receiver. The server's
 * validation messages are shown under the field they concern.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  API,
  ApiFailure,
  describeError,
  type Envelope,
  enc,
  fieldErrors,
  type Integration as IntegrationView,
} from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { SecretsOnce } from '../components/secrets-once';
import { ErrorNote, Loading } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { useLoad } from '../hooks';
import { projectPath } from '../router';
import type { ProjectScreenProps } from './registry';

type AuthType = IntegrationView['authType'];
const AUTH_TYPES: readonly { readonly value: AuthType; readonly label: string }[] = [
  { value: 'no_auth', label: 'None (the signature only)' },
  { value: 'bearer', label: 'Bearer token (Authorization: Bearer …)' },
  { value: 'api_key', label: 'API key (X-API-Key: …)' },
  { value: 'basic', label: 'Basic (user:password)' },
];
const SECRET_LOST =
  'relevo signs every event with it and never shows it again; if it is lost, rotate it here and give the new one to your receiver.';
const EVENT_TYPES = ['conversation.start', 'message', 'conversation.close'] as const;

export function Integration({ projectId }: ProjectScreenProps) {
  const api = useApi();
  const path = `${API}/external-support/${enc(projectId)}`;
  // undefined while loading; null: the project has none.
  const loaded = useLoad(async () => {
    try {
      return (await api.get<Envelope<IntegrationView>>(path)).data as IntegrationView | null;
    } catch (e) {
      if (e instanceof ApiFailure && e.code === 'integration_not_found') return null;
      throw e;
    }
  }, projectId);
  const [secret, setSecret] = useState<{ title: string; value: string } | undefined>(undefined);

  let body: ComponentChildren;
  if (loaded.loading) body = <Loading what="the integration" />;
  else if (loaded.value === undefined)
    body = <ErrorNote>{loaded.error ?? 'The integration could not be loaded.'}</ErrorNote>;
  else if (loaded.value === null)
    body = (
      <>
        <p class="state state-empty">
          This project has no integration yet: its events are recorded but sent nowhere. Give the URL of your
          receiver.
        </p>
        <IntegrationForm
          path={path}
          onSaved={(i, signingSecret) => {
            loaded.set(i);
            if (signingSecret !== undefined)
              setSecret({ title: 'Integration created', value: signingSecret });
          }}
        />
      </>
    );
  else
    body = (
      <Current
        projectId={projectId}
        path={path}
        integration={loaded.value}
        onChanged={(i) => loaded.set(i)}
        onSecret={(value) => setSecret({ title: 'Signing secret rotated', value })}
      />
    );

  return (
    <>
      <PageTitle title="Integration">Integration</PageTitle>
      <p class="lead">Where this project's events are sent, signed with its signing secret.</p>
      {secret !== undefined ? (
        <SecretsOnce
          title={secret.title}
          fields={[{ label: 'Signing secret', value: secret.value, secret: true }]}
          ifLost={SECRET_LOST}
          onDone={() => setSecret(undefined)}
        />
      ) : null}
      {body}
    </>
  );
}

function Current({
  projectId,
  path,
  integration: i,
  onChanged,
  onSecret,
}: {
  readonly projectId: string;
  readonly path: string;
  readonly integration: IntegrationView;
  readonly onChanged: (i: IntegrationView | null) => void;
  readonly onSecret: (secret: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  return (
    <>
      <section aria-labelledby="webhook" class="panel">
        <div class="section-head">
          <h2 id="webhook">Webhook</h2>
          {i.disabled ? (
            <span class="tag tag-failed">Disabled</span>
          ) : (
            <span class="tag tag-active">Sending</span>
          )}
        </div>
        <dl class="facts">
          <div>
            <dt>URL</dt>
            <dd class="mono">{i.webhookUrl}</dd>
          </div>
          <div>
            <dt>Authentication</dt>
            <dd>{AUTH_TYPES.find((a) => a.value === i.authType)?.label ?? i.authType}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd>{when(i.updatedAt)}</dd>
          </div>
        </dl>
        {i.disabled ? (
          <ErrorNote>
            relevo stopped sending{i.disabledAt !== null ? ` on ${when(i.disabledAt)}` : ''}:{' '}
            {i.disabledReason}. Events wait; saving the integration turns sending back on.
          </ErrorNote>
        ) : null}
        {editing ? (
          <IntegrationForm
            path={path}
            current={i}
            onSaved={(updated) => {
              onChanged(updated);
              setEditing(false);
            }}
            onCancel={() => setEditing(false)}
          />
        ) : (
          <button type="button" class="button" onClick={() => setEditing(true)}>
            Change
          </button>
        )}
      </section>
      <TestEvent projectId={projectId} path={path} />
      <Rotate path={path} onSecret={onSecret} />
      <Delete path={path} onDeleted={() => onChanged(null)} />
    </>
  );
}

function IntegrationForm({
  path,
  current,
  onSaved,
  onCancel,
}: {
  readonly path: string;
  readonly current?: IntegrationView;
  readonly onSaved: (i: IntegrationView, signingSecret?: string) => void;
  readonly onCancel?: () => void;
}) {
  const api = useApi();
  const [url, setUrl] = useState(current?.webhookUrl ?? '');
  const [authType, setAuthType] = useState<AuthType>(current?.authType ?? 'no_auth');
  const [authorization, setAuthorization] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [invalid, setInvalid] = useState<Record<string, string[]>>({});

  const save = async () => {
    setBusy(true);
    setError(undefined);
    setInvalid({});
    const body: Record<string, string> = {};
    if (current === undefined || url !== current.webhookUrl) body.webhookUrl = url.trim();
    if (current === undefined || authType !== current.authType) body.authType = authType;
    if (authType !== 'no_auth' && authorization !== '') body.authorization = authorization;
    try {
      if (current === undefined) {
        const created = await api.post<Envelope<IntegrationView & { signingSecret: string }>>(path, body);
        const { signingSecret, ...rest } = created.data;
        onSaved(
          { ...rest, updatedAt: rest.createdAt, disabled: false, disabledAt: null, disabledReason: null },
          signingSecret,
        );
      } else {
        // An unchanged form still re-enables a disabled integration: send the URL.
        if (Object.keys(body).length === 0) body.webhookUrl = url.trim();
        onSaved((await api.patch<Envelope<IntegrationView>>(path, body)).data);
      }
    } catch (e) {
      setInvalid(fieldErrors(e));
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const problem = (field: string) =>
    invalid[field] === undefined ? null : (
      <span class="field-error" id={`integration-${field}-error`}>
        {invalid[field]?.join(' ')}
      </span>
    );

  return (
    <form
      class="integration-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label class="field">
        <span>Webhook URL</span>
        <input
          class="input"
          type="url"
          required
          value={url}
          placeholder="https://panel.example.com/relevo/events"
          aria-invalid={invalid.webhookUrl !== undefined}
          aria-describedby={invalid.webhookUrl !== undefined ? 'integration-webhookUrl-error' : undefined}
          onInput={(e) => setUrl(e.currentTarget.value)}
        />
        {problem('webhookUrl')}
      </label>
      <label class="field">
        <span>How relevo authenticates to it</span>
        <select
          class="input"
          value={authType}
          aria-invalid={invalid.authType !== undefined}
          aria-describedby={invalid.authType !== undefined ? 'integration-authType-error' : undefined}
          onChange={(e) => setAuthType(e.currentTarget.value as AuthType)}
        >
          {AUTH_TYPES.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
        {problem('authType')}
      </label>
      {authType !== 'no_auth' ? (
        <label class="field">
          <span>
            {authType === 'basic' ? 'user:password' : 'Token or key'}
            {current !== undefined && current.authType === authType
              ? ' (leave empty to keep the stored one)'
              : ''}
          </span>
          <input
            class="input mono"
            type="password"
            autocomplete="off"
            value={authorization}
            aria-invalid={invalid.authorization !== undefined}
            aria-describedby={
              invalid.authorization !== undefined ? 'integration-authorization-error' : undefined
            }
            onInput={(e) => setAuthorization(e.currentTarget.value)}
          />
          {problem('authorization')}
        </label>
      ) : null}
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
      <div class="toolbar">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Saving…' : current === undefined ? 'Create the integration' : 'Save'}
        </button>
        {onCancel !== undefined ? (
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}

function TestEvent({ projectId, path }: { readonly projectId: string; readonly path: string }) {
  const api = useApi();
  const [type, setType] = useState<(typeof EVENT_TYPES)[number]>('conversation.start');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const send = async () => {
    setBusy(true);
    setError(undefined);
    setSent(undefined);
    try {
      setSent((await api.post<Envelope<{ eventId: string }>>(`${path}/events/test`, { type })).data.eventId);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="test-event" class="panel">
      <h2 id="test-event">Send a test event</h2>
      <p>
        A sample event in the documented shape, sent to the webhook as a real delivery (signed, retried, in
        the delivery log). Its bot is "relevo test events" and its end user "Test user".
      </p>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label class="inline-label">
          <span>Event</span>
          <select
            class="input"
            value={type}
            onChange={(e) => setType(e.currentTarget.value as (typeof EVENT_TYPES)[number])}
          >
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Sending…' : 'Send test event'}
        </button>
      </form>
      {sent !== undefined ? (
        <p class="state state-info" role="status">
          Sent.{' '}
          <Link to={projectPath(projectId, `deliveries/${encodeURIComponent(sent)}`)}>See its delivery</Link>
        </p>
      ) : null}
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
    </section>
  );
}

/** A destructive action behind a confirmation whose Cancel takes the focus. */
function Confirmed({
  id,
  title,
  explain,
  button,
  confirm,
  busyText,
  danger,
  run,
}: {
  readonly id: string;
  readonly title: string;
  readonly explain: string;
  readonly button: string;
  readonly confirm: string;
  readonly busyText: string;
  readonly danger: boolean;
  readonly run: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) cancel.current?.focus();
  }, [confirming]);
  const go = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await run();
      setConfirming(false);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby={id} class="panel">
      <h2 id={id}>{title}</h2>
      <p>{explain}</p>
      {confirming ? (
        <fieldset class="confirm">
          <legend>{confirm}</legend>
          <button
            type="button"
            class={danger ? 'button button-danger' : 'button button-primary'}
            disabled={busy}
            onClick={() => void go()}
          >
            {busy ? busyText : `Yes, ${button.toLowerCase()}`}
          </button>
          <button type="button" class="button" ref={cancel} onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </fieldset>
      ) : (
        <button
          type="button"
          class={danger ? 'button button-danger' : 'button'}
          onClick={() => setConfirming(true)}
        >
          {button}
        </button>
      )}
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
    </section>
  );
}

function Rotate({ path, onSecret }: { readonly path: string; readonly onSecret: (secret: string) => void }) {
  const api = useApi();
  return (
    <Confirmed
      id="rotate"
      title="Signing secret"
      explain="Rotating replaces the secret at once: every attempt from now on, retries of older events included, is signed with the new one. Give it to your receiver right away."
      button="Rotate"
      confirm="Rotate the signing secret now?"
      busyText="Rotating…"
      danger={false}
      run={async () => {
        onSecret(
          (await api.post<Envelope<{ signingSecret: string }>>(`${path}/secret/regenerate`)).data
            .signingSecret,
        );
      }}
    />
  );
}

function Delete({ path, onDeleted }: { readonly path: string; readonly onDeleted: () => void }) {
  const api = useApi();
  return (
    <Confirmed
      id="delete"
      title="Delete the integration"
      explain="Events stop being sent; those still waiting are cancelled (they stay in the delivery log, and can be replayed once there is an integration again)."
      button="Delete"
      confirm="Delete this integration?"
      busyText="Deleting…"
      danger={true}
      run={async () => {
        await api.delete(path);
        onDeleted();
      }}
    />
  );
}
