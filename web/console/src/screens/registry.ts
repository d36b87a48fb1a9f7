/**
 * The screens of one project (Overview, Bots, Integration, Conversations, Deliveries, Live
 * events), each at /console/projects/{projectId}/{slug}. The navigation lists exactly these, so
 * a screen appears in it when its entry is added here — and never before it exists.
 */
import type { ComponentType } from 'preact';
import { Bots } from './bots';
import { Conversations } from './conversations';
import { Deliveries } from './deliveries';
import { Integration } from './integration';
import { LiveEvents } from './live-events';
import { ProjectPage } from './project';

export interface ProjectScreenProps {
  readonly projectId: string;
  /**
   * The path's segments after the screen's slug, decoded: ['conv_…'] for
   * /console/projects/{id}/conversations/conv_…; [] for the screen itself. A screen that has no
   * such pages shows its "not found" state for any.
   */
  readonly rest: readonly string[];
}

export interface ProjectScreen {
  /** The path segment after the project: /console/projects/{id}/{slug}; '' for the project's own page. */
  readonly slug: string;
  /** The navigation entry and the page's title. */
  readonly label: string;
  /** Shown only to the admin token (the screen calls the admin API). */
  readonly adminOnly: boolean;
  readonly component: ComponentType<ProjectScreenProps>;
}

export const PROJECT_SCREENS: readonly ProjectScreen[] = [
  { slug: '', label: 'Overview', adminOnly: false, component: ProjectPage },
  { slug: 'conversations', label: 'Conversations', adminOnly: false, component: Conversations },
  { slug: 'deliveries', label: 'Deliveries', adminOnly: false, component: Deliveries },
  { slug: 'integration', label: 'Integration', adminOnly: false, component: Integration },
  { slug: 'bots', label: 'Bots', adminOnly: true, component: Bots },
  { slug: 'events', label: 'Live events', adminOnly: false, component: LiveEvents },
];
