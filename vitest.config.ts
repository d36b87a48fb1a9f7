import { defineConfig } from 'vitest/config';
import { findPostgresBin } from './test/setup/postgres-cluster.js';

/**
 * Two projects: everything on SQLite, and the integration suite again on a real PostgreSQL that
 * the run starts itself. Without PostgreSQL binaries the second project is left out, loudly —
 * and CI (RELEVO_REQUIRE_POSTGRES=1) fails instead.
 */
const havePostgres = findPostgresBin() !== undefined;
if (!havePostgres) {
  if (process.env.RELEVO_REQUIRE_POSTGRES === '1') {
    throw new Error(
      'RELEVO_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries were found (install postgresql-15).',
    );
  }
  console.warn(
    '\n*** PostgreSQL server binaries not found: the PostgreSQL test runs are SKIPPED. Install postgresql-15 to run them. ***\n',
  );
}

export default defineConfig({
  test: {
    // Two cores: keep parallelism modest so timing-sensitive integration tests stay honest.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/setup/parties.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts', 'packages/sdk/test/**/*.test.ts', 'web/console/test/**/*.test.ts'],
          exclude: ['test/postgres/**', '**/node_modules/**'],
          env: { RELEVO_TEST_DB: 'sqlite' },
          globalSetup: ['test/setup/build-global.ts'],
        },
      },
      ...(havePostgres
        ? [
            {
              extends: true,
              test: {
                name: 'postgres',
                include: [
                  'test/integration/**/*.test.ts',
                  'test/postgres/**/*.test.ts',
                  'packages/sdk/test/integration/**/*.test.ts',
                ],
                env: { RELEVO_TEST_DB: 'postgres' },
                globalSetup: ['test/setup/build-global.ts', 'test/setup/postgres-global.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
