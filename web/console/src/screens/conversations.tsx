/**
 * Conversations (console.md): the project's conversations, newest first, filtered by state, bot,
 * end user and start time (docs/api.md §5.3), 25 at a time with "Load more" — a project with
 * 10,000 conversations loads one page. A conversation's own page is conversation.tsx.
 */
import { useState } from 'preact/hooks';
import { API, type Conversation, type Envelope, enc, fieldErrors, type Page } from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { Empty, ErrorNote, Loading, LoadMore } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { usePaged } from '../hooks';
import { projectPath } from '../router';
import { ConversationPage } from './conversation';
import type { ProjectScreenProps } from './registry';

const PAGE = 25;

interface Filters {
  readonly state: '' | 'active' | 'closed';
  readonly botId: string;
  readonly userId: string;
  /** datetime-local values (the reader's time zone), '' for none. */
  readonly from: string;
  readonly to: string;
}

const NONE: Filters = { state: '', botId: '', userId: '', from: '', to: '' };

/** A datetime-local value as the ISO instant the API takes (it needs a time zone). */
function instant(local: string): string {
  return new Date(local).toISOString();
}

function query(f: Filters, after: string | undefined): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (f.state !== '') q.set('state', f.state);
  if (f.botId.trim() !== '') q.set('botId', f.botId.trim());
  if (f.userId.trim() !== '') q.set('userId', f.userId.trim());
  if (f.from !== '') q.set('from', instant(f.from));
  if (f.to !== '') q.set('to', instant(f.to));
  if (after !== undefined) q.set('cursor', after);
  return q.toString();
}

export function Conversations({ projectId, rest }: ProjectScreenProps) {
  const [id] = rest;
  if (id !== undefined) return <ConversationPage projectId={projectId} conversationId={id} />;
  return <ConversationList projectId={projectId} />;
}

function ConversationList({ projectId }: { readonly projectId: string }) {
  const api = useApi();
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [invalid, setInvalid] = useState<Record<string, string[]>>({});
  const list = usePaged<Conversation>(
    async (after) => {
      try {
        const answer = await api.get<Envelope<Page<Conversation>>>(
          `${API}/external-support/${enc(projectId)}/conversations?${query(filters, after)}`,
        );
        setInvalid({});
        return answer.data;
      } catch (e) {
        setInvalid(fieldErrors(e));
        throw e;
      }
    },
    (c) => c._id,
    `${projectId}|${JSON.stringify(filters)}`,
  );
  const filtered = JSON.stringify(filters) !== JSON.stringify(NONE);
  const set = (patch: Partial<Filters>) => setDraft({ ...draft, ...patch });
  const problem = (field: string) =>
    invalid[field] === undefined ? null : (
      <span class="field-error" id={`conv-${field}-error`}>
        {invalid[field]?.join(' ')}
      </span>
    );

  return (
    <>
      <PageTitle title="Conversations">Conversations</PageTitle>
      <form
        class="filters"
        aria-label="Filter conversations"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <label class="field">
          <span>State</span>
          <select
            class="input"
            value={draft.state}
            onChange={(e) => set({ state: e.currentTarget.value as Filters['state'] })}
          >
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="closed">Closed</option>
          </select>
        </label>
        <label class="field">
          <span>Bot id</span>
          <input
            class="input mono"
            value={draft.botId}
            placeholder="bot_…"
            aria-invalid={invalid.botId !== undefined}
            aria-describedby={invalid.botId !== undefined ? 'conv-botId-error' : undefined}
            onInput={(e) => set({ botId: e.currentTarget.value })}
          />
          {problem('botId')}
        </label>
        <label class="field">
          <span>End user id</span>
          <input
            class="input mono"
            value={draft.userId}
            placeholder="usr_…"
            aria-invalid={invalid.userId !== undefined}
            aria-describedby={invalid.userId !== undefined ? 'conv-userId-error' : undefined}
            onInput={(e) => set({ userId: e.currentTarget.value })}
          />
          {problem('userId')}
        </label>
        <label class="field">
          <span>Started from</span>
          <input
            class="input"
            type="datetime-local"
            value={draft.from}
            aria-invalid={invalid.from !== undefined}
            onInput={(e) => set({ from: e.currentTarget.value })}
          />
          {problem('from')}
        </label>
        <label class="field">
          <span>Started before</span>
          <input
            class="input"
            type="datetime-local"
            value={draft.to}
            aria-invalid={invalid.to !== undefined}
            onInput={(e) => set({ to: e.currentTarget.value })}
          />
          {problem('to')}
        </label>
        <div class="filter-actions">
          <button type="submit" class="button button-primary">
            Apply filters
          </button>
          {filtered ? (
            <button
              type="button"
              class="button"
              onClick={() => {
                setDraft(NONE);
                setFilters(NONE);
              }}
            >
              Clear
            </button>
          ) : null}
        </div>
      </form>
      {list.error !== undefined ? <ErrorNote>{list.error}</ErrorNote> : null}
      {list.items.length === 0 && list.loading ? <Loading what="conversations" /> : null}
      {list.items.length === 0 && !list.loading && list.error === undefined ? (
        <Empty>
          {filtered
            ? 'No conversation matches these filters.'
            : 'No conversation yet. One starts when a bot hands an end user to the panel, or when the panel calls start.'}
        </Empty>
      ) : null}
      {list.items.length > 0 ? (
        <ul class="cards" aria-label="Conversations">
          {list.items.map((c) => (
            <li key={c._id} class="card" data-conversation={c._id}>
              <div class="card-main">
                <Link
                  to={projectPath(projectId, `conversations/${encodeURIComponent(c._id)}`)}
                  class="card-title"
                >
                  {c.User.names}
                </Link>
                <span class="card-meta">
                  with {c.Bot.name} · <span class="mono">{c._id}</span>
                </span>
              </div>
              <span class="card-meta">Started {when(c.startAt)}</span>
              <span class={c.state === 'active' ? 'tag tag-active' : 'tag tag-revoked'}>
                {c.state === 'active' ? 'Active' : 'Closed'}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <LoadMore hasMore={list.hasMore} loading={list.loading} onMore={list.more} what="conversations" />
    </>
  );
}
