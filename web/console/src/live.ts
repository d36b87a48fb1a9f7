/** The project's event stream as a hook: the live screens' one subscription each. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApi } from './context';
import { followEvents, type StreamEvent, type StreamState } from './event-stream';

/**
 * Follows the project's events while the screen is open; `onEvent` is called for each (the
 * latest closure, so it may read the screen's state). `paused` holds nothing back on the wire:
 * the screen decides what a pause means.
 */
export function useProjectEvents(projectId: string, onEvent: (e: StreamEvent) => void): StreamState {
  const api = useApi();
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const stream = followEvents(api.session, projectId, {
      event: (e) => handler.current(e),
      state: setState,
      unauthorized: () => api.refused(),
    });
    return () => stream.stop();
  }, [projectId, api]);
  return state;
}

/** What the screens say about the stream, for a status line. */
export function streamLabel(state: StreamState): string {
  if (state === 'live') return 'Live';
  if (state === 'connecting') return 'Connecting…';
  if (state === 'reconnecting') return 'Reconnecting…';
  return 'Stopped';
}
