/**
 * The screens of one project (Overview, Bots, Integration, Conversations, Deliveries, Live
 * events), each at /console/projects/{projectId}/{slug}. The navigation lists exactly these, so
 * a screen appears in it when its entry is added here — and never before it exists.
 */
import type { ComponentType } from 'preact';

export interface ProjectScreenProps {
  readonly projectId: string;
}

export interface ProjectScreen {
  /** The path segment after the project: /console/projects/{id}/{slug}. */
  readonly slug: string;
  /** The navigation entry and the page's title. */
  readonly label: string;
  /** Shown only to the admin token (the screen calls the admin API). */
  readonly adminOnly: boolean;
  readonly component: ComponentType<ProjectScreenProps>;
}

export const PROJECT_SCREENS: readonly ProjectScreen[] = [];
