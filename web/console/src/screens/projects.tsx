/**
 * Projects. With the admin token: every project, a page at a time (load more), and a form that
 * creates one and shows its first credential's secrets once. With a project credential: that
 * project alone — no admin call is made (the server would refuse it anyway).
 */
import { useState } from 'preact/hooks';
import { ADMIN, API, describeError, enc, type Page, type ProjectCreated, type ProjectSummary } from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { SecretsOnce } from '../components/secrets-once';
import { Empty, ErrorNote, Loading, LoadMore } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { useLoad, usePaged } from '../hooks';
import { projectPath } from '../router';

/** Projects per page: a screenful at 1280 px. */
const PAGE = 20;

export function Projects() {
  const api = useApi();
  if (api.session.kind === 'project') return <OwnProject projectId={api.session.projectId} />;
  return <AllProjects />;
}

/**
 * The one project a project credential sees. Its management API is asked once whether the
 * credential still holds (a revoked one gets 401 and the layout signs out); no admin call.
 */
function OwnProject({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const checked = useLoad(
    () => api.get(`${API}/external-support/${enc(projectId)}/conversations?limit=1`),
    projectId,
  );
  return (
    <>
      <PageTitle title="Projects">Projects</PageTitle>
      <p class="lead">You are signed in with a credential of one project; it is the only one you can see.</p>
      {checked.loading ? <Loading what="the project" /> : null}
      {checked.error !== undefined ? <ErrorNote>{checked.error}</ErrorNote> : null}
      <ul class="cards" aria-label="Projects">
        <li class="card">
          <Link to={projectPath(projectId)} class="card-title">
            <span class="mono">{projectId}</span>
          </Link>
          <span class="card-meta">
            {api.session.kind === 'project' && api.session.auth.type === 'basic'
              ? 'Signed in with a client id and secret'
              : 'Signed in with an API key'}
          </span>
        </li>
      </ul>
    </>
  );
}

function AllProjects() {
  const api = useApi();
  const list = usePaged<ProjectSummary>(
    (after) =>
      api.get<Page<ProjectSummary>>(
        `${ADMIN}/projects?limit=${PAGE}${after === undefined ? '' : `&after=${enc(after)}`}`,
      ),
    (p) => p.id,
    'projects',
  );
  const [created, setCreated] = useState<ProjectCreated | undefined>(undefined);

  return (
    <>
      <PageTitle title="Projects">Projects</PageTitle>
      {created !== undefined ? (
        <SecretsOnce
          title={`Project “${created.name}” created`}
          fields={[
            { label: 'Project id', value: created.id, secret: false },
            { label: 'API key', value: created.apiKey, secret: true },
            { label: 'Client id', value: created.clientId, secret: false },
            { label: 'Client secret', value: created.clientSecret, secret: true },
          ]}
          onDone={() => setCreated(undefined)}
        />
      ) : (
        <CreateProject
          onCreated={(p) => {
            setCreated(p);
            list.prepend({ id: p.id, name: p.name, createdAt: new Date().toISOString() });
          }}
        />
      )}
      <section aria-labelledby="projects-list">
        <h2 id="projects-list">All projects</h2>
        {list.items.length > 0 ? (
          <ul class="cards" aria-label="Projects">
            {list.items.map((p) => (
              <li class="card" key={p.id}>
                <div class="card-main">
                  <Link to={projectPath(p.id)} class="card-title">
                    {p.name}
                  </Link>
                  <span class="card-meta mono">{p.id}</span>
                </div>
                <span class="card-meta">Created {when(p.createdAt)}</span>
              </li>
            ))}
          </ul>
        ) : null}
        {list.loading ? <Loading what="projects" /> : null}
        {list.error !== undefined ? <ErrorNote>{list.error}</ErrorNote> : null}
        {!list.loading && list.error === undefined && list.items.length === 0 ? (
          <Empty>No projects yet. Create the first one above.</Empty>
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loading} onMore={list.more} what="projects" />
      </section>
    </>
  );
}

function CreateProject({ onCreated }: { readonly onCreated: (p: ProjectCreated) => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const project = await api.post<ProjectCreated>(`${ADMIN}/projects`, { name: name.trim() });
      setName('');
      onCreated(project);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel inline-form" onSubmit={(e) => void submit(e)} aria-labelledby="create-project">
      <h2 id="create-project">Create a project</h2>
      <div class="inline-form-row">
        <div class="field">
          <label for="project-name">Name</label>
          <input
            id="project-name"
            class="input"
            required
            maxLength={200}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create project'}
        </button>
      </div>
      {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
    </form>
  );
}
