/**
 * The console: the sign-in form until a credential is accepted, then the layout with the screen
 * the path names. A request the server refuses with 401 (the credential was revoked while
 * signed in) signs out with a message; a request that cannot reach the server shows the banner,
 * whose retry reloads the current screen.
 */
import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { ApiClient } from './api';
import { Layout, type Place } from './components/layout';
import { Link } from './components/link';
import { PageTitle } from './components/page-title';
import { ApiContext } from './context';
import { segments, usePath } from './router';
import { ProjectPage } from './screens/project';
import { Projects } from './screens/projects';
import { PROJECT_SCREENS } from './screens/registry';
import { SignIn } from './screens/sign-in';
import { loadSession, type Session, saveSession } from './session';

const REVOKED = 'Your credential was refused: it may have been revoked, or the token changed. Sign in again.';

interface Routed {
  readonly place: Place;
  readonly screen: ComponentChildren;
}

function route(path: string, session: Session): Routed {
  const [first, projectId, slug, ...rest] = segments(path);
  if (first === undefined || (first === 'projects' && projectId === undefined)) {
    return { place: {}, screen: <Projects /> };
  }
  if (first === 'projects' && projectId !== undefined) {
    if (slug === undefined)
      return { place: { projectId, screen: '' }, screen: <ProjectPage projectId={projectId} /> };
    const found = PROJECT_SCREENS.find(
      (s) => s.slug !== '' && s.slug === slug && (session.kind === 'admin' || !s.adminOnly),
    );
    if (found !== undefined) {
      const Screen = found.component;
      return { place: { projectId, screen: slug }, screen: <Screen projectId={projectId} rest={rest} /> };
    }
  }
  return { place: {}, screen: <NotFound /> };
}

function NotFound() {
  return (
    <>
      <PageTitle title="Not found">Nothing here</PageTitle>
      <p class="lead">
        This page does not exist. <Link to="/">Go to the projects</Link>.
      </p>
    </>
  );
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [unreachable, setUnreachable] = useState(false);
  const [reload, setReload] = useState(0);
  const path = usePath();

  const signIn = (s: Session | undefined, why?: string) => {
    saveSession(s);
    setSession(s);
    setMessage(why);
    setUnreachable(false);
  };

  const api = useMemo(
    () =>
      session === undefined
        ? undefined
        : new ApiClient(session, {
            reachable: () => setUnreachable(false),
            unreachable: () => setUnreachable(true),
            unauthorized: () => signIn(undefined, REVOKED),
          }),
    [session],
  );

  if (session === undefined || api === undefined) {
    return <SignIn message={message} onSignedIn={(s) => signIn(s)} />;
  }
  const { place, screen } = route(path, session);
  return (
    <ApiContext.Provider value={api}>
      <Layout
        session={session}
        place={place}
        unreachable={unreachable}
        onRetry={() => setReload((n) => n + 1)}
        onSignOut={() => signIn(undefined, 'Signed out.')}
      >
        {/* A new key remounts the screen: Retry loads it again from the start. */}
        <div key={`${path}#${reload}`} class="screen">
          {screen}
        </div>
      </Layout>
    </ApiContext.Provider>
  );
}
