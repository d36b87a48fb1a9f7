/**
 * A curl command for each operation, shown in its description: the right credential header
 * (x-api-key, the admin Bearer token, or an X-Jelou-Signature computed with openssl), path
 * parameters as shell variables, and the operation's example body. The origin is the one the
 * reader used, so the command runs as shown once the variables are set.
 */

// biome-ignore lint/suspicious/noExplicitAny: OpenAPI objects are plain JSON.
type Json = any;

/** The shell variables the commands use, and what to put in them. */
export const SHELL_VARIABLES: ReadonlyArray<readonly [string, string]> = [
  ['RELEVO_API_KEY', "your project's API key (x-api-key)"],
  ['RELEVO_ADMIN_TOKEN', 'the admin token: the one the first start printed, or RELEVO_ADMIN_TOKEN'],
  ['PROJECT_ID', 'your project id'],
  ['SIGNING_SECRET', "your integration's signingSecret (send-message route)"],
  ['SIGNING_KEY', "an http bot's channel signingKey (custom-channel route)"],
];

/** `conversationId` → `CONVERSATION_ID`. */
export function shellName(parameter: string): string {
  return parameter.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Single-quoted for a POSIX shell. */
function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The key a signed route's X-Jelou-Signature is computed with. */
function signingVariable(path: string): string {
  return path.includes('/custom-channel/') ? 'SIGNING_KEY' : 'SIGNING_SECRET';
}

function signed(op: Json): boolean {
  return (op.parameters ?? []).some(
    (p: Json) => p.in === 'header' && String(p.name).toLowerCase() === 'x-jelou-signature',
  );
}

function authHeader(op: Json, doc: Json): string | undefined {
  const requirements: Json[] = op.security ?? doc.security ?? [];
  const schemes = requirements.flatMap((r) => Object.keys(r));
  // A project's routes take the admin token too; their examples show the project's own key.
  if (schemes.includes('apiKey')) return `-H "x-api-key: $RELEVO_API_KEY"`;
  if (schemes.includes('adminToken')) return `-H "authorization: Bearer $RELEVO_ADMIN_TOKEN"`;
  return undefined;
}

export function curlSample(doc: Json, origin: string, path: string, method: string, op: Json): string {
  const url = `"${origin}${path.replace(/\{(\w+)\}/g, (_m, name: string) => `$${shellName(name)}`)}"`;
  const body = op.requestBody?.content?.['application/json']?.example;
  const json = body === undefined ? undefined : JSON.stringify(body);
  const verb = method.toUpperCase();
  const lines: string[] = [];
  // A stream (text/event-stream) is shown as it comes: -N turns curl's output buffering off.
  const streams = op.responses?.['200']?.content?.['text/event-stream'] !== undefined;
  const command: string[] = [`curl -sS${streams ? ' -N' : ''} -X ${verb} ${url}`];

  if (signed(op) && json !== undefined) {
    // The signature covers the exact bytes sent: printf '%s' adds no newline, and
    // --data-binary sends the variable unchanged.
    lines.push(`BODY=${quote(json)}`);
    lines.push(
      `SIGNATURE=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$${signingVariable(path)}" -r | cut -d' ' -f1)`,
    );
    command.push(`-H 'content-type: application/json'`, `-H "x-jelou-signature: sha256=$SIGNATURE"`);
    command.push(`--data-binary "$BODY"`);
    return [...lines, command.join(' \\\n  ')].join('\n');
  }

  const auth = authHeader(op, doc);
  if (auth !== undefined) command.push(auth);
  if (json !== undefined) command.push(`-H 'content-type: application/json'`, `--data ${quote(json)}`);
  return command.join(' \\\n  ');
}

/** The description with the curl command appended as a fenced block. */
export function withCurl(description: string | undefined, sample: string, basicToo: boolean): string {
  const note = basicToo
    ? '\n\nWith Basic instead of the API key: `-u "$RELEVO_CLIENT_ID:$RELEVO_CLIENT_SECRET"` in place of the `x-api-key` header.'
    : '';
  const head = description === undefined || description === '' ? '' : `${description}\n\n`;
  return `${head}**curl**\n\n\`\`\`sh\n${sample}\n\`\`\`${note}`;
}
