/** What the database subcommands share: the store they open, and how they read an option. */
import { requireProject } from '../domain/projects/project.service.js';
import { openStore } from '../storage/open-store.js';
import { SecretBox } from '../storage/secret-box.js';
import type { Store } from '../storage/store.js';
import type { ParsedArgs } from './command.js';
import type { CliContext } from './context.js';

/**
 * Opens the store named by DATABASE_URL, brings its schema up to date (a fresh install has none
 * yet; the server would create it the same way on start), prints what `fn` returns as JSON, and
 * always closes the store.
 */
export async function withStore(ctx: CliContext, fn: (store: Store) => Promise<unknown>): Promise<number> {
  const config = ctx.config();
  const store = await openStore(config.databaseUrl, {
    secretBox: new SecretBox(config.encryptionKey),
    listenUrl: config.databaseListenUrl,
  });
  try {
    await migrateShowingProgress(store, ctx);
    ctx.printJson(await fn(store));
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * withStore for a command about one project: an unknown (or deleted) project is refused with
 * project_not_found, exit 1, as the admin commands do. The HTTP routes need no such check, their
 * credential names the project; here nothing else would, and an empty answer would look like one.
 */
export function withProject(
  ctx: CliContext,
  projectId: string,
  fn: (store: Store) => Promise<unknown>,
): Promise<number> {
  return withStore(ctx, async (store) => {
    await requireProject(store.queries, projectId);
    return fn(store);
  });
}

/** store.migrate(), showing on a terminal which migration is being applied and how many remain. */
export async function migrateShowingProgress(store: Store, ctx: CliContext): Promise<number[]> {
  let shown = false;
  try {
    return await store.migrate((m, index, pending) => {
      shown = true;
      ctx.progress(`migrating the database: ${index + 1} of ${pending}, ${m.name}`);
    });
  } finally {
    if (shown) ctx.progress(undefined);
  }
}

/** A string option's value, or undefined when it was not given. */
export function optionString(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}
