/**
 * The verification snippet of docs/bots.md, "Verifying the events", run as a reader would paste
 * it: it accepts what relevo's signer produces for a bot's webhook, in both schemes, and refuses
 * a changed body, another secret, a stale or missing timestamp, and a missing header.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signEvent } from '../../src/delivery/signer.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SECRET = 'c'.repeat(64);

type Headers = Record<string, string | undefined>;
let jelouSignatureOk: (raw: Buffer, header: unknown) => boolean;
let standardSignatureOk: (raw: Buffer, headers: Headers) => boolean;
let dir: string;

/** The first ```js block under the heading. */
function snippet(): string {
  const doc = readFileSync(join(ROOT, 'docs/bots.md'), 'utf8');
  const section = doc.slice(doc.indexOf('\n### Verifying the events\n'));
  const m = /```js\n([\s\S]*?)\n```/.exec(section);
  if (m?.[1] === undefined) throw new Error('no js block under "Verifying the events" in docs/bots.md');
  return m[1];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relevo-bots-doc-'));
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, `${snippet()}\nexport { jelouSignatureOk, standardSignatureOk };\n`);
  process.env.BOT_SIGNING_SECRET = SECRET;
  ({ jelouSignatureOk, standardSignatureOk } = await import(pathToFileURL(file).href));
});
afterAll(() => {
  delete process.env.BOT_SIGNING_SECRET;
  rmSync(dir, { recursive: true, force: true });
});

const body = JSON.stringify({
  field: 'messages',
  event_type: 'message',
  value: { content: { body: 'Olá' } },
});
const now = () => Math.floor(Date.now() / 1000);

describe('docs/bots.md, "Verifying the events"', () => {
  it("accepts relevo's X-Jelou-Signature and refuses another body, another secret or no header", () => {
    const raw = Buffer.from(body, 'utf8');
    const h = signEvent(body, SECRET, 'evt_1', now());
    expect(jelouSignatureOk(raw, h['x-jelou-signature'])).toBe(true);
    expect(jelouSignatureOk(Buffer.from(body.replace('Olá', 'Ola')), h['x-jelou-signature'])).toBe(false);
    expect(jelouSignatureOk(raw, signEvent(body, 'd'.repeat(64), 'evt_1', now())['x-jelou-signature'])).toBe(
      false,
    );
    expect(jelouSignatureOk(raw, undefined)).toBe(false);
    expect(jelouSignatureOk(raw, 'sha256=00')).toBe(false);
  });

  it("accepts relevo's Standard Webhooks signature, among others, and refuses a changed or stale one", () => {
    const raw = Buffer.from(body, 'utf8');
    const h = signEvent(body, SECRET, 'evt_1', now());
    const headers = { ...h } as Headers;
    expect(standardSignatureOk(raw, headers)).toBe(true);
    // Several signatures, space-separated (a key rotation on the sender's side): one match is enough.
    const other = signEvent(body, 'd'.repeat(64), 'evt_1', now())['webhook-signature'];
    expect(
      standardSignatureOk(raw, { ...headers, 'webhook-signature': `${other} ${h['webhook-signature']}` }),
    ).toBe(true);
    expect(standardSignatureOk(raw, { ...headers, 'webhook-signature': other })).toBe(false);
    expect(standardSignatureOk(Buffer.from(`${body} `), headers)).toBe(false);
    expect(standardSignatureOk(raw, { ...headers, 'webhook-id': 'evt_2' })).toBe(false);
    const stale = signEvent(body, SECRET, 'evt_1', now() - 600);
    expect(standardSignatureOk(raw, { ...stale })).toBe(false);
    expect(standardSignatureOk(raw, { ...headers, 'webhook-timestamp': undefined })).toBe(false);
    expect(standardSignatureOk(raw, { ...headers, 'webhook-signature': undefined })).toBe(false);
  });
});
