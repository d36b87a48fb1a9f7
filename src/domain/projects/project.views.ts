/**
 * What the admin API and the `relevo` command show of projects, bots and end users, and the
 * limits on their names: shared by the admin routes and every module both use, so that neither
 * needs the other.
 */
import { validationError } from '../../errors.js';
import type { Bot, ChannelKind, EndUser, Project } from '../../model/types.js';

export const NAME_MAX = 200;
export const REFERENCE_ID_MAX = 200;

/** REST times are ISO-8601 UTC with milliseconds (docs/api.md §4). */
const iso = (ms: number): string => new Date(ms).toISOString();

export interface ProjectSummaryView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}
export interface BotView {
  readonly id: string;
  readonly name: string;
  readonly channel: ChannelKind;
  readonly createdAt: string;
}
export interface EndUserView {
  readonly id: string;
  readonly names: string;
  readonly referenceId: string | null;
  readonly createdAt: string;
}

// Each view lists its keys explicitly, so a column added to a domain type (a hash, say) never
// leaks into an answer by accident.
export const projectSummaryView = (p: Project): ProjectSummaryView => ({
  id: p.id,
  name: p.name,
  createdAt: iso(p.createdAt),
});
export const botView = (b: Bot): BotView => ({
  id: b.id,
  name: b.name,
  channel: b.channel,
  createdAt: iso(b.createdAt),
});
export const endUserView = (u: EndUser): EndUserView => ({
  id: u.id,
  names: u.names,
  referenceId: u.referenceId,
  createdAt: iso(u.createdAt),
});

/** A name-like field: the routes' schemas say the same, the CLI has only this check. */
export function checkText(field: string, value: string, max: number): void {
  if (value.length === 0) throw validationError({ [field]: ['must not be empty'] });
  if (value.length > max) throw validationError({ [field]: [`must be at most ${max} characters`] });
}
