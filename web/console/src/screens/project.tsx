/**
 * One project's own page: its overview (project-overview.tsx) and, with the admin token, its
 * credentials — create one (the secrets shown once) or revoke one (after a confirmation; it
 * takes effect at once). With a project credential, the page says which project this is and
 * makes no admin call.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ADMIN, type Credential, type CredentialCreated, describeError, enc, type Project } from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { SecretsOnce } from '../components/secrets-once';
import { Empty, ErrorNote, Loading } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { useLoad } from '../hooks';
import { OverviewPanel } from './project-overview';

export function ProjectPage({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  if (api.session.kind === 'project') {
    if (api.session.projectId !== projectId) return <NotYours />;
    return (
      <>
        <PageTitle title="Project">
          Project <span class="mono">{projectId}</span>
        </PageTitle>
        <OverviewPanel projectId={projectId} />
        <p class="lead">
          Credentials are created and revoked with the admin token; sign in with it to manage them.
        </p>
      </>
    );
  }
  return <AdminProject projectId={projectId} />;
}

function NotYours() {
  return (
    <>
      <PageTitle title="Not found">Project not found</PageTitle>
      <ErrorNote>This credential belongs to another project.</ErrorNote>
    </>
  );
}

function AdminProject({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const project = useLoad(() => api.get<Project>(`${ADMIN}/projects/${enc(projectId)}`), projectId);
  const [created, setCreated] = useState<CredentialCreated | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  if (project.loading) return <Loading what="the project" />;
  if (project.value === undefined) {
    return (
      <>
        <PageTitle title="Project">Project</PageTitle>
        <ErrorNote>{project.error ?? 'The project could not be loaded.'}</ErrorNote>
      </>
    );
  }
  const p = project.value;

  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const c = await api.post<CredentialCreated>(`${ADMIN}/projects/${enc(projectId)}/credentials`);
      setCreated(c);
      const fresh: Credential = {
        id: c.id,
        clientId: c.clientId,
        createdAt: new Date().toISOString(),
        revokedAt: null,
      };
      project.set({ ...p, credentials: [...p.credentials, fresh] });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const revoked = (c: Credential) =>
    project.set({ ...p, credentials: p.credentials.map((x) => (x.id === c.id ? c : x)) });

  return (
    <>
      <p class="crumbs">
        <Link to="/">← All projects</Link>
      </p>
      <PageTitle title={p.name}>{p.name}</PageTitle>
      <p class="lead">
        <span class="mono">{p.id}</span> · created {when(p.createdAt)}
      </p>
      <OverviewPanel projectId={projectId} />
      <section aria-labelledby="credentials">
        <div class="section-head">
          <h2 id="credentials">Credentials</h2>
          {created === undefined ? (
            <button type="button" class="button button-primary" onClick={() => void create()} disabled={busy}>
              {busy ? 'Creating…' : 'Create a credential'}
            </button>
          ) : null}
        </div>
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        {created !== undefined ? (
          <SecretsOnce
            title="Credential created"
            fields={[
              { label: 'API key', value: created.apiKey, secret: true },
              { label: 'Client id', value: created.clientId, secret: false },
              { label: 'Client secret', value: created.clientSecret, secret: true },
            ]}
            onDone={() => setCreated(undefined)}
          />
        ) : null}
        {p.credentials.length === 0 ? (
          <Empty>This project has no credential.</Empty>
        ) : (
          <ul class="cards" aria-label="Credentials">
            {p.credentials.map((c) => (
              <CredentialRow key={c.id} projectId={projectId} credential={c} onRevoked={revoked} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function CredentialRow({
  projectId,
  credential: c,
  onRevoked,
}: {
  readonly projectId: string;
  readonly credential: Credential;
  readonly onRevoked: (c: Credential) => void;
}) {
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) cancel.current?.focus();
  }, [confirming]);

  const revoke = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onRevoked(await api.delete<Credential>(`${ADMIN}/projects/${enc(projectId)}/credentials/${enc(c.id)}`));
      setConfirming(false);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li class="card credential" data-credential={c.id}>
      <div class="card-main">
        <span class="card-title mono">{c.clientId}</span>
        <span class="card-meta mono">{c.id}</span>
      </div>
      <span class="card-meta">
        Created {when(c.createdAt)}
        {c.revokedAt !== null ? ` · revoked ${when(c.revokedAt)}` : ''}
      </span>
      {c.revokedAt !== null ? (
        <span class="tag tag-revoked">Revoked</span>
      ) : confirming ? (
        <fieldset class="confirm">
          <legend>
            Revoke <span class="mono">{c.clientId}</span>?
          </legend>
          <p>Requests with this credential are refused from now on; this cannot be undone.</p>
          <button type="button" class="button button-danger" onClick={() => void revoke()} disabled={busy}>
            {busy ? 'Revoking…' : 'Yes, revoke'}
          </button>
          <button type="button" class="button" ref={cancel} onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </fieldset>
      ) : (
        <>
          <span class="tag tag-active">Active</span>
          <button
            type="button"
            class="button button-small"
            aria-label={`Revoke ${c.clientId}`}
            onClick={() => setConfirming(true)}
          >
            Revoke
          </button>
        </>
      )}
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
    </li>
  );
}
