/**
 * Bots (console.md; admin API, docs/admin.md and docs/bots.md): the project's bots and a form to
 * create one. A bot's own page is bot.tsx. Shown to the admin token only: a project credential
 * cannot call the admin API.
 */
import { useState } from 'preact/hooks';
import { ADMIN, describeError, enc, fieldErrors, type Page } from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { Empty, ErrorNote, Loading, LoadMore } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { usePaged } from '../hooks';
import { navigate, projectPath } from '../router';
import { type Bot, BotPage, CHANNEL_NAMES } from './bot';
import type { ProjectScreenProps } from './registry';

const PAGE = 20;

export function Bots({ projectId, rest }: ProjectScreenProps) {
  const [id] = rest;
  if (id !== undefined) return <BotPage projectId={projectId} botId={id} />;
  return <BotList projectId={projectId} />;
}

function BotList({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const list = usePaged<Bot>(
    async (after) =>
      api.get<Page<Bot>>(
        `${ADMIN}/projects/${enc(projectId)}/bots?limit=${PAGE}${after === undefined ? '' : `&after=${enc(after)}`}`,
      ),
    (b) => b.id,
    projectId,
  );
  return (
    <>
      <PageTitle title="Bots">Bots</PageTitle>
      <p class="lead">
        A bot answers the end users of one channel: relevo's own rules, your bot over signed webhooks, or a
        Rasa assistant. When a person is needed, it hands the conversation to the panel.
      </p>
      <CreateBot projectId={projectId} />
      {list.error !== undefined ? <ErrorNote>{list.error}</ErrorNote> : null}
      {list.items.length === 0 && list.loading ? <Loading what="bots" /> : null}
      {list.items.length === 0 && !list.loading && list.error === undefined ? (
        <Empty>This project has no bot yet: create one above.</Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul class="cards" aria-label="Bots">
          {list.items.map((b) => (
            <li key={b.id} class="card" data-bot={b.id}>
              <div class="card-main">
                <Link to={projectPath(projectId, `bots/${encodeURIComponent(b.id)}`)} class="card-title">
                  {b.name}
                </Link>
                <span class="card-meta mono">{b.id}</span>
              </div>
              <span class="card-meta">Created {when(b.createdAt)}</span>
              <span class="tag">{CHANNEL_NAMES[b.channel]}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <LoadMore hasMore={list.hasMore} loading={list.loading} onMore={list.more} what="bots" />
    </>
  );
}

function CreateBot({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [channel, setChannel] = useState<'webchat' | 'http' | 'whatsapp'>('webchat');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [invalid, setInvalid] = useState<Record<string, string[]>>({});
  const create = async () => {
    setBusy(true);
    setError(undefined);
    setInvalid({});
    try {
      const bot = await api.post<Bot>(`${ADMIN}/projects/${enc(projectId)}/bots`, {
        name: name.trim(),
        channel,
      });
      navigate(projectPath(projectId, `bots/${encodeURIComponent(bot.id)}`));
    } catch (e) {
      setInvalid(fieldErrors(e));
      setError(describeError(e));
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="create-bot" class="panel">
      <h2 id="create-bot">Create a bot</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <div class="inline-form-row create-bot-row">
          <label class="field">
            <span>Name</span>
            <input
              class="input"
              required
              value={name}
              aria-invalid={invalid.name !== undefined}
              onInput={(e) => setName(e.currentTarget.value)}
            />
            {invalid.name !== undefined ? <span class="field-error">{invalid.name.join(' ')}</span> : null}
          </label>
          <label class="field">
            <span>Channel</span>
            <select
              class="input"
              value={channel}
              onChange={(e) => setChannel(e.currentTarget.value as 'webchat' | 'http' | 'whatsapp')}
            >
              <option value="webchat">Web chat (page and widget)</option>
              <option value="http">HTTP (your own app)</option>
              <option value="whatsapp">WhatsApp (Meta's Cloud API)</option>
            </select>
          </label>
        </div>
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create the bot'}
        </button>
      </form>
    </section>
  );
}
