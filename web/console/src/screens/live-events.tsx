/**
 * Live events (console.md): the project's events as they are committed, from its event stream
 * (docs/api.md §5.8), newest first: type, time, conversation, and the payload on demand. The
 * list keeps the latest 500 (a busy project sends thousands a minute; the delivery log has them
 * all). Pausing freezes the list while events keep coming; resuming shows them.
 */
import { useState } from 'preact/hooks';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { Empty } from '../components/states';
import type { StreamEvent } from '../event-stream';
import { streamLabel, useProjectEvents } from '../live';
import { projectPath } from '../router';
import type { ProjectScreenProps } from './registry';

const KEEP = 500;

export function LiveEvents({ projectId }: ProjectScreenProps) {
  const [events, setEvents] = useState<readonly StreamEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState<readonly StreamEvent[]>([]);
  const state = useProjectEvents(projectId, (e) => {
    if (paused) setHeld((old) => [e, ...old].slice(0, KEEP));
    else setEvents((old) => [e, ...old].slice(0, KEEP));
  });
  const toggle = () => {
    if (paused) {
      setEvents((old) => [...held, ...old].slice(0, KEEP));
      setHeld([]);
    }
    setPaused(!paused);
  };

  return (
    <>
      <PageTitle title="Live events">Live events</PageTitle>
      <div class="section-head">
        <p class="lead">
          Every event of this project as it is committed, whether or not it has a webhook. The latest {KEEP}{' '}
          are kept here; the Deliveries screen has them all.
        </p>
      </div>
      <div class="toolbar">
        <span class={`stream-state stream-${state}`} role="status">
          {streamLabel(state)}
          {paused ? ` · paused, ${held.length} new` : ''}
        </span>
        <button type="button" class="button" aria-pressed={paused} onClick={toggle}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        {events.length > 0 ? (
          <button type="button" class="button" onClick={() => setEvents([])}>
            Clear
          </button>
        ) : null}
      </div>
      {events.length === 0 ? (
        <Empty>
          Waiting for events. They appear here as conversations start, end users write and conversations
          close.
        </Empty>
      ) : (
        <ol class="cards events" aria-label="Events">
          {events.map((e) => (
            <EventRow key={e.id} projectId={projectId} event={e} />
          ))}
        </ol>
      )}
    </>
  );
}

function EventRow({ projectId, event: e }: { readonly projectId: string; readonly event: StreamEvent }) {
  const conversationId = (e.data.conversation as { id?: unknown } | undefined)?.id;
  const at = typeof e.data.timestamp === 'number' ? new Date(e.data.timestamp) : undefined;
  const contact = (e.data.contact as { name?: unknown } | undefined)?.name;
  return (
    <li class="card event" data-event={e.id}>
      <div class="card-main">
        <span class="card-title">
          <span class="tag">{e.type}</span> {typeof contact === 'string' ? contact : ''}
        </span>
        <span class="card-meta">
          {at !== undefined ? at.toLocaleTimeString() : ''} · <span class="mono">{e.id}</span>
          {typeof conversationId === 'string' ? (
            <>
              {' · '}
              <Link to={projectPath(projectId, `conversations/${encodeURIComponent(conversationId)}`)}>
                conversation
              </Link>
            </>
          ) : null}
        </span>
        <details>
          <summary>Payload</summary>
          <pre class="payload">{JSON.stringify(e.data, null, 2)}</pre>
        </details>
      </div>
    </li>
  );
}
