/**
 * `relevo admin-token reset`: a new admin API token when the one printed at the first start is
 * lost (or leaked). It acts on the database directly, so it works with no server running and
 * without the old token; whoever can run it can read the database anyway.
 */
import { resetAdminToken } from '../auth/admin-token.js';
import { openStore } from '../storage/open-store.js';
import { migrateShowingProgress } from './cli-store.js';
import type { Command } from './command.js';

export const ADMIN_TOKEN_COMMANDS: readonly Command[] = [
  {
    name: 'admin-token reset',
    summary: "Replace the admin API's stored token and print the new one (the old one stops working)",
    args: [],
    usage: '',
    options: {},
    details:
      'Prints only the token on stdout, so `export RELEVO_ADMIN_TOKEN=$(relevo admin-token reset)`\n' +
      'works (with --json: { "token" }). Running servers accept the new token at once and refuse the old one. Servers started\n' +
      'with RELEVO_ADMIN_TOKEN use that value instead, and with RELEVO_ADMIN_TOKEN=off serve no\n' +
      'admin API at all. On a database from before first-run tokens, this turns the admin API on.',
    async run(ctx) {
      const config = ctx.config();
      const store = await openStore(config.databaseUrl, { listenUrl: config.databaseListenUrl });
      try {
        await migrateShowingProgress(store, ctx);
        const token = await resetAdminToken(store.queries, Date.now());
        if (ctx.json) ctx.printJson({ token });
        else ctx.out(token);
        if (config.adminToken !== undefined || config.adminApiOff) {
          ctx.err(
            'relevo: note: RELEVO_ADMIN_TOKEN is set in this environment; servers started with it ignore the stored token',
          );
        }
        return 0;
      } finally {
        await store.close();
      }
    },
  },
];
