/**
 * relevo's modules loaded from a build at run time (a dist/ directory: the working tree's, or a
 * commit's exported by `run.js --ref`), for the tools that drive its store directly. The
 * benchmark does not compile src/, so these imports are untyped.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// biome-ignore lint/suspicious/noExplicitAny: untyped run-time imports of a build.
export type Any = any;

/** `load('storage/sqlite/sqlite-store.js')` → that module of the build in `dist`. */
export function buildLoader(dist: string): (path: string) => Promise<Any> {
  const root = resolve(dist);
  return (path) => import(pathToFileURL(join(root, path)).href);
}

/** Gives a project an integration (its events become pending), as the API would. */
export async function addIntegration(
  load: (path: string) => Promise<Any>,
  store: Any,
  projectId: string,
  now: number,
): Promise<void> {
  const integrations = await load('domain/integrations/integration.service.js');
  await store.transaction((tx: Any) =>
    integrations.createIntegration(tx, {
      projectId,
      webhookUrl: 'http://127.0.0.1:9/hook',
      authType: 'no_auth',
      authorization: null,
      now,
    }),
  );
}

type Loader = (path: string) => Promise<Any>;

/** The first of `paths` that the build has: the measured commit may predate a module's move. */
export async function loadFirst(load: Loader, ...paths: string[]): Promise<Any> {
  for (const path of paths.slice(0, -1)) {
    try {
      return await load(path);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  return await load(paths.at(-1)!);
}

/**
 * Starting and closing conversations, with the build's bot engines and channels wired (builds
 * from before the split of conversation.service.js into start.js and close.js have no wiring).
 */
export async function loadConversations(load: Loader): Promise<Any> {
  try {
    const [start, close, parties] = await Promise.all([
      load('domain/conversations/start.js'),
      load('domain/conversations/close.js'),
      load('parties.js'),
    ]);
    parties.connectParties();
    return { ...start, ...close };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return await load('domain/conversations/conversation.service.js');
  }
}
