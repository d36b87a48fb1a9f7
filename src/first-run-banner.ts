/**
 * What the first start prints about the admin token it created: plain text on stderr, for a
 * person to copy, and the only place the token ever appears in clear. The JSON log on stdout is
 * for machines (collectors, retention), so it only says that a token was created.
 */

/** The banner; the README's walkthrough and its test quote the export line. */
export function firstRunBanner(token: string, baseUrl: string): string {
  return [
    'relevo: first run — an admin token was created; it is shown only this once:',
    '',
    `  export RELEVO_ADMIN_TOKEN=${token}`,
    '',
    'Next, in another terminal: run the export line above, then create a project:',
    `  curl -s -X POST ${baseUrl}/admin/v1/projects -H "Authorization: Bearer $RELEVO_ADMIN_TOKEN" -H 'Content-Type: application/json' -d '{"name":"Acme"}'`,
    '(Lost it? `npx relevo admin-token reset` prints a new one.)',
    '',
  ].join('\n');
}
