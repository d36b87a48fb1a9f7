/**
 * The frame around every signed-in screen: relevo's name, the navigation (Projects, and the open
 * project's screens from screens/registry.ts), who is signed in, sign out, and the "not
 * reachable" banner.
 */
import type { ComponentChildren } from 'preact';
import { projectPath } from '../router';
import { PROJECT_SCREENS } from '../screens/registry';
import type { Session } from '../session';
import { UnreachableBanner } from './banner';
import { Link } from './link';

export interface Place {
  /** The open project, when the screen belongs to one. */
  readonly projectId?: string;
  /** The open project screen's slug ('' for the project's own page). */
  readonly screen?: string;
}

export function Layout({
  session,
  place,
  unreachable,
  onRetry,
  onSignOut,
  children,
}: {
  readonly session: Session;
  readonly place: Place;
  readonly unreachable: boolean;
  readonly onRetry: () => void;
  readonly onSignOut: () => void;
  readonly children: ComponentChildren;
}) {
  const screens = PROJECT_SCREENS.filter((s) => session.kind === 'admin' || !s.adminOnly);
  const who = session.kind === 'admin' ? 'Admin token' : `Project ${session.projectId}`;
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link to="/" class="brand">
          relevo <span class="brand-sub">console</span>
        </Link>
        <nav aria-label="Main" class="nav">
          <ul>
            <li>
              <Link
                to="/"
                class={place.projectId === undefined ? 'nav-link' : 'nav-link nav-link-section'}
                current={place.projectId === undefined}
              >
                Projects
              </Link>
            </li>
          </ul>
          {place.projectId !== undefined && screens.length > 0 ? (
            <ul aria-label="This project">
              {screens.map((s) => (
                <li key={s.slug}>
                  <Link
                    to={projectPath(place.projectId!, s.slug)}
                    class="nav-link"
                    current={place.screen === s.slug}
                  >
                    {s.label}
                  </Link>
                </li>
              ))}
            </ul>
          ) : null}
        </nav>
        <div class="who">
          <span class="who-name" title={who}>
            {who}
          </span>
          <button type="button" class="button button-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      {unreachable ? <UnreachableBanner onRetry={onRetry} /> : null}
      <main id="main" class="main">
        {children}
      </main>
    </div>
  );
}
