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
