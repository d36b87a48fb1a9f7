import type { Migration } from './migration.js';

/**
 * Names (a project's, a bot's, an end user's) become JSON text, a JSON string literal such as
 * `"Maria"`, like metadata and message content: a name is the client's data, and a `\u0000` or an
 * unpaired `\ud800` in it must come back as sent. PostgreSQL's `text` cannot hold U+0000 and both
 * drivers turn an unpaired surrogate into U+FFFD; JSON.stringify writes both as escapes. No name
 * column is indexed, unique, searched or sorted, so nothing else changes. Rows written before are
 * quoted in place: their names hold neither character (they were refused), and any other one
 * (a newline, a quote, non-ASCII) reads back the same through JSON.parse.
 */
export const m0009NamesAsJson: Migration = {
  version: 9,
  name: 'names-as-json',
  statements: [
    {
      sqlite: 'UPDATE projects SET name = json_quote(name)',
      postgres: 'UPDATE projects SET name = to_json(name)::text',
    },
    {
      sqlite: 'UPDATE bots SET name = json_quote(name)',
      postgres: 'UPDATE bots SET name = to_json(name)::text',
    },
    {
      sqlite: 'UPDATE end_users SET names = json_quote(names)',
      postgres: 'UPDATE end_users SET names = to_json(names)::text',
    },
  ],
};
