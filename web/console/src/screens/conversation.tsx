/**
 * One conversation (console.md, Conversations): who and which bot, its transcript (docs/api.md
 * §5.4), kept up to date from the project's event stream — the end user's messages and the close
 * appear without a reload —, and, while it is active, the agent's tools: answer the end user
 * (text, or a picture, video, audio or document by URL; §5.7) and close it with a closing text or
 * a step of the bot's flow (§4.7).
 */
import { useRef, useState } from 'preact/hooks';
import {
  API,
  type Conversation,
  describeError,
  type Envelope,
  enc,
  fieldErrors,
  type Page,
  type TranscriptMessage,
} from '../api';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { Empty, ErrorNote, Loading, LoadMore } from '../components/states';
import { useApi } from '../context';
import { when } from '../format';
import { useLoad, usePaged } from '../hooks';
import { streamLabel, useProjectEvents } from '../live';
import { projectPath } from '../router';

const PAGE = 100;
const MEDIA = ['image', 'video', 'audio', 'document'] as const;
type Kind = 'text' | (typeof MEDIA)[number];

export function ConversationPage({
  projectId,
  conversationId,
}: {
  readonly projectId: string;
  readonly conversationId: string;
}) {
  const api = useApi();
  const base = `${API}/external-support/${enc(projectId)}/conversations/${enc(conversationId)}`;
  const conversation = useLoad(
    async () => (await api.get<Envelope<Conversation>>(base)).data,
    `${projectId}|${conversationId}`,
  );
  const transcript = usePaged<TranscriptMessage>(
    async (after) => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (after !== undefined) q.set('cursor', after);
      return (await api.get<Envelope<Page<TranscriptMessage>>>(`${base}/messages?${q}`)).data;
    },
    (m) => m.id,
    `${projectId}|${conversationId}`,
  );
  // Messages that arrived while the page was open, after the pages loaded (deduplicated by id).
  const [live, setLive] = useState<TranscriptMessage[]>([]);
  const add = (m: TranscriptMessage) =>
    setLive((old) => (old.some((x) => x.id === m.id) ? old : [...old, m]));
  const state = useProjectEvents(projectId, (e) => {
    const about = (e.data.conversation as { id?: unknown } | undefined)?.id;
    if (about !== conversationId) return;
    if (e.type === 'message') {
      const value = e.data.value as { id: string; type: string; content: Record<string, unknown> };
      const at = typeof e.data.timestamp === 'number' ? e.data.timestamp : Date.now();
      add({
        id: value.id,
        sender: 'user',
        type: value.type,
        content: value.content,
        createdAt: new Date(at).toISOString(),
      });
    } else if (e.type === 'conversation.close' && conversation.value !== undefined) {
      conversation.set({ ...conversation.value, state: 'closed', endAt: new Date().toISOString() });
    }
  });

  if (conversation.loading) return <Loading what="the conversation" />;
  const c = conversation.value;
  if (c === undefined) {
    return (
      <>
        <p class="crumbs">
          <Link to={projectPath(projectId, 'conversations')}>← Conversations</Link>
        </p>
        <PageTitle title="Conversation">Conversation</PageTitle>
        <ErrorNote>{conversation.error ?? 'The conversation could not be loaded.'}</ErrorNote>
      </>
    );
  }
  const loaded = new Set(transcript.items.map((m) => m.id));
  // Live messages go after the loaded pages only once the last page is in; before, "Load more"
  // brings them in their place.
  const shown = transcript.hasMore
    ? transcript.items
    : [...transcript.items, ...live.filter((m) => !loaded.has(m.id))];

  return (
    <>
      <p class="crumbs">
        <Link to={projectPath(projectId, 'conversations')}>← Conversations</Link>
      </p>
      <PageTitle title={`${c.User.names} · conversation`}>{c.User.names}</PageTitle>
      <p class="lead">
        with {c.Bot.name} · started {when(c.startAt)}
        {c.endAt !== undefined ? ` · closed ${when(c.endAt)}` : ''} ·{' '}
        <span class={c.state === 'active' ? 'tag tag-active' : 'tag tag-revoked'}>
          {c.state === 'active' ? 'Active' : 'Closed'}
        </span>
      </p>
      <dl class="facts">
        <div>
          <dt>Conversation</dt>
          <dd class="mono">{c._id}</dd>
        </div>
        <div>
          <dt>End user</dt>
          <dd class="mono">{c.User.id}</dd>
        </div>
        <div>
          <dt>Bot</dt>
          <dd class="mono">{c.Bot.id}</dd>
        </div>
        {c.assignment !== undefined ? (
          <div>
            <dt>Assigned to</dt>
            <dd>
              {c.assignment.type}: {c.assignment.target}
            </dd>
          </div>
        ) : null}
      </dl>
      <section aria-labelledby="transcript">
        <div class="section-head">
          <h2 id="transcript">Transcript</h2>
          <span class={`stream-state stream-${state}`} role="status">
            {streamLabel(state)}
          </span>
        </div>
        {transcript.error !== undefined ? <ErrorNote>{transcript.error}</ErrorNote> : null}
        {shown.length === 0 && transcript.loading ? <Loading what="the transcript" /> : null}
        {shown.length === 0 && !transcript.loading && transcript.error === undefined ? (
          <Empty>No message in this conversation yet.</Empty>
        ) : null}
        {shown.length > 0 ? (
          <ol class="transcript" aria-label="Messages" aria-live="polite">
            {shown.map((m) => (
              <li key={m.id} class={`bubble bubble-${m.sender}`} data-message={m.id}>
                <span class="bubble-who">
                  {m.sender === 'user' ? c.User.names : m.sender === 'bot' ? c.Bot.name : 'Agent'}
                </span>
                <MessageBody m={m} />
                <span class="bubble-time">{when(m.createdAt)}</span>
              </li>
            ))}
          </ol>
        ) : null}
        <LoadMore
          hasMore={transcript.hasMore}
          loading={transcript.loading}
          onMore={transcript.more}
          what="messages"
        />
      </section>
      {c.state === 'active' ? (
        <>
          <Composer base={base} onSent={add} />
          <CloseForm
            projectId={projectId}
            conversation={c}
            onClosed={() => conversation.set({ ...c, state: 'closed', endAt: new Date().toISOString() })}
          />
        </>
      ) : (
        <p class="state state-info">This conversation is closed: the bot has the end user again.</p>
      )}
    </>
  );
}

function MessageBody({ m }: { readonly m: TranscriptMessage }) {
  const content = m.content;
  const text = (key: string) => (typeof content[key] === 'string' ? (content[key] as string) : undefined);
  if (m.type === 'text') return <p class="bubble-text">{text('body')}</p>;
  const url = text('url');
  const label = text('caption') ?? text('filename') ?? m.type;
  return (
    <p class="bubble-text">
      <span class="tag">{m.type}</span>{' '}
      {url !== undefined ? (
        <a href={url} rel="noopener noreferrer" target="_blank">
          {label}
        </a>
      ) : (
        label
      )}
    </p>
  );
}

function Composer({
  base,
  onSent,
}: {
  readonly base: string;
  readonly onSent: (m: TranscriptMessage) => void;
}) {
  const api = useApi();
  const [kind, setKind] = useState<Kind>('text');
  const [body, setBody] = useState('');
  const [url, setUrl] = useState('');
  const [mime, setMime] = useState('');
  const [label, setLabel] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [invalid, setInvalid] = useState<Record<string, string[]>>({});
  // One id per message, kept until it is acknowledged: a retry after a lost answer is not sent
  // twice. Kept only for the same message: edited after a failure, it is a new message, and the
  // old id would be acknowledged and the edit never sent (docs/api.md §5.7: a repeated id with
  // other content changes nothing).
  const pending = useRef<{ readonly id: string; readonly of: string } | undefined>(undefined);

  const content = (): Record<string, string> => {
    if (kind === 'text') return { body };
    const c: Record<string, string> = { url: url.trim(), mime_type: mime.trim() };
    if (label.trim() !== '' && (kind === 'image' || kind === 'video')) c.caption = label.trim();
    if (label.trim() !== '' && kind === 'document') c.filename = label.trim();
    return c;
  };
  const send = async () => {
    setBusy(true);
    setError(undefined);
    setInvalid({});
    const sent = { type: kind, content: content() };
    const of = JSON.stringify(sent);
    if (pending.current?.of !== of) pending.current = { id: `console-${crypto.randomUUID()}`, of };
    try {
      const answer = await api.post<Envelope<{ messageId: string }>>(`${base}/messages`, {
        id: pending.current.id,
        ...sent,
      });
      pending.current = undefined;
      onSent({ id: answer.data.messageId, sender: 'operator', ...sent, createdAt: new Date().toISOString() });
      setBody('');
      setUrl('');
      setLabel('');
    } catch (e) {
      setInvalid(fieldErrors(e));
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const problem = (field: string) =>
    invalid[field] === undefined ? null : <span class="field-error">{invalid[field]?.join(' ')}</span>;

  return (
    <section aria-labelledby="answer" class="panel">
      <h2 id="answer">Answer the end user</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label class="field">
          <span>Type</span>
          <select class="input" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            <option value="text">Text</option>
            <option value="image">Picture (by URL)</option>
            <option value="video">Video (by URL)</option>
            <option value="audio">Audio (by URL)</option>
            <option value="document">Document (by URL)</option>
          </select>
        </label>
        {kind === 'text' ? (
          <label class="field">
            <span>Message</span>
            <textarea
              class="input"
              rows={3}
              required
              value={body}
              aria-invalid={invalid['content.body'] !== undefined}
              onInput={(e) => setBody(e.currentTarget.value)}
            />
            {problem('content.body')}
          </label>
        ) : (
          <>
            <label class="field">
              <span>URL</span>
              <input
                class="input"
                type="url"
                required
                value={url}
                placeholder="https://…"
                aria-invalid={invalid['content.url'] !== undefined}
                onInput={(e) => setUrl(e.currentTarget.value)}
              />
              {problem('content.url')}
            </label>
            <label class="field">
              <span>MIME type</span>
              <input
                class="input"
                required
                value={mime}
                placeholder={
                  kind === 'image' ? 'image/png' : kind === 'document' ? 'application/pdf' : `${kind}/…`
                }
                aria-invalid={invalid['content.mime_type'] !== undefined}
                onInput={(e) => setMime(e.currentTarget.value)}
              />
              {problem('content.mime_type')}
            </label>
            {kind !== 'audio' ? (
              <label class="field">
                <span>{kind === 'document' ? 'File name (optional)' : 'Caption (optional)'}</span>
                <input class="input" value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
              </label>
            ) : null}
          </>
        )}
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Sending…' : 'Send'}
        </button>
      </form>
    </section>
  );
}

function CloseForm({
  projectId,
  conversation: c,
  onClosed,
}: {
  readonly projectId: string;
  readonly conversation: Conversation;
  readonly onClosed: () => void;
}) {
  const api = useApi();
  const [how, setHow] = useState<'none' | 'text' | 'edge'>('none');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const close = async () => {
    setBusy(true);
    setError(undefined);
    const body: Record<string, unknown> = { botId: c.Bot.id, userId: c.User.id };
    if (how !== 'none') body.redirectPayload = { type: how, text };
    try {
      await api.post(`${API}/external-support/${enc(projectId)}/conversations/close`, body);
      onClosed();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="close" class="panel">
      <h2 id="close">Close the conversation</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void close();
        }}
      >
        <fieldset class="choice">
          <legend>Hand the end user back to the bot</legend>
          <label>
            <input type="radio" name="close-how" checked={how === 'none'} onChange={() => setHow('none')} />{' '}
            Without a message
          </label>
          <label>
            <input type="radio" name="close-how" checked={how === 'text'} onChange={() => setHow('text')} />{' '}
            With a closing message
          </label>
          <label>
            <input type="radio" name="close-how" checked={how === 'edge'} onChange={() => setHow('edge')} />{' '}
            At a step of the bot's flow
          </label>
        </fieldset>
        {how !== 'none' ? (
          <label class="field">
            <span>{how === 'text' ? 'Closing message' : 'Step name'}</span>
            <input
              class="input"
              required
              maxLength={4096}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          </label>
        ) : null}
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        <button type="submit" class="button button-danger" disabled={busy}>
          {busy ? 'Closing…' : 'Close conversation'}
        </button>
      </form>
    </section>
  );
}
