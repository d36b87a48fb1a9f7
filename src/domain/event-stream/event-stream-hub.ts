/**
 * Wakes the live event streams of a project when its panel events commit. It hears commits
 * through store.onCommitted: this process's own by project, another process's (PostgreSQL
 * NOTIFY) by the project list of the notification, or every stream when that list is unknown
 * (a notification from an older process, or LISTEN reconnected and anything may have been
 * missed). A stream reads the database when woken, so a wake-up too many costs one read and a
 * lost one is covered by the read every stream does at each heartbeat.
 */
import type { Committed } from '../../storage/store.js';

export class EventStreamHub {
  private readonly projects = new Map<string, Set<() => void>>();

  /** Feed this to store.onCommitted, once per app. */
  readonly publish = (committed: Committed): void => {
    for (const projectId of committed.panelProjects ?? []) this.wake(projectId);
    const remote = committed.remote;
    if (remote === undefined) return;
    if (remote.panelProjects === undefined) {
      for (const projectId of [...this.projects.keys()]) this.wake(projectId);
    } else {
      for (const projectId of remote.panelProjects) this.wake(projectId);
    }
  };

  /** Calls `wake` whenever the project may have new events; returns the unsubscribe. */
  subscribe(projectId: string, wake: () => void): () => void {
    let set = this.projects.get(projectId);
    if (set === undefined) {
      set = new Set();
      this.projects.set(projectId, set);
    }
    set.add(wake);
    return () => {
      const current = this.projects.get(projectId);
      if (current === undefined) return;
      current.delete(wake);
      if (current.size === 0) this.projects.delete(projectId);
    };
  }

  /** Open streams across all projects (tests check that a closed stream cleans up). */
  get streamCount(): number {
    let n = 0;
    for (const set of this.projects.values()) n += set.size;
    return n;
  }

  private wake(projectId: string): void {
    for (const wake of [...(this.projects.get(projectId) ?? [])]) {
      try {
        wake();
      } catch {
        // One broken stream must not keep the wake-up from the others.
      }
    }
  }
}
