/**
 * GET /console and what is under it, served from the build in dist/console/: the page for every
 * client-side route, the hashed assets with a year's cache, the exact Content-Security-Policy on
 * every answer, a 404 envelope for a file that is not there, and a clear 503 when the console
 * was never built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleRoutes } from '../../src/http/routes/console.routes.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Envelope {
  readonly status: number;
  readonly error: { readonly code: string; readonly description: string };
}

describe('console route', () => {
  let h: Harness;
  let page: string;

  beforeAll(async () => {
    h = await createHarness();
    page = (await h.app.server.inject({ method: 'GET', url: '/console' })).body;
  });
  afterAll(async () => h?.close());

  const get = (url: string, headers: Record<string, string> = {}) =>
    h.app.server.inject({ method: 'GET', url, headers });

  it('has the documented policy, word for word', () => {
    expect(CONSOLE_CSP).toBe(CSP);
  });

  it('answers the page at /console, /console/ and every client-side route, never cached stale', async () => {
    for (const url of ['/console', '/console/', '/console/projects', '/console/projects/p_1/bots']) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['content-security-policy']).toBe(CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body).toBe(page);
    }
    expect(page).toContain('<div id="app"></div>');
    // No inline script or style, and nothing from anywhere but relevo itself.
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page).not.toMatch(/<style|style=/);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves the bundle it names with a year of cache, and revalidates the page by ETag', async () => {
    const assets = [...page.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const r = await get(asset);
      expect(r.statusCode, asset).toBe(200);
      expect(r.headers['content-type']).toBe(
        asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
      );
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['content-security-policy']).toBe(CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      // Nothing fetched from elsewhere at run time either: the only addresses are XML namespaces
      // and the reserved documentation names of the forms' placeholders (RFC 2606).
      expect(r.body).not.toMatch(/https?:\/\/(?!www\.w3\.org|(?:[a-z0-9-]+\.)*example\.com)[a-z]/i);
    }
    const first = await get('/console/');
    const again = await get('/console/', { 'if-none-match': String(first.headers.etag) });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('answers a file that is not there with the 404 envelope, not the page', async () => {
    for (const url of ['/console/assets/index-00000000.js', '/console/assets/', '/console/logo.png']) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.headers['content-security-policy']).toBe(CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      const body = JSON.parse(r.body) as Envelope;
      expect(body.status).toBe(0);
      expect(body.error.code).toBe('route_not_found');
    }
  });

  it('keeps only GET (and HEAD) there', async () => {
    const head = await h.app.server.inject({ method: 'HEAD', url: '/console/' });
    expect(head.statusCode).toBe(200);
    const post = await h.app.server.inject({ method: 'POST', url: '/console/', payload: {} });
    expect(post.statusCode).toBe(405);
  });
});

describe('console route without a build', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says the console is not built (503 console_not_built), then serves it once built, from memory', async () => {
    const app = Fastify();
    consoleRoutes(app, { dirs: [`${dir}/`] });
    const api = await app.inject({ method: 'GET', url: '/console/' });
    expect(api.statusCode).toBe(503);
    expect(api.headers['content-security-policy']).toBe(CSP);
    const body = JSON.parse(api.body) as Envelope;
    expect(body.error.code).toBe('console_not_built');
    expect(body.error.description).toContain('npm run build');

    const browser = await app.inject({ method: 'GET', url: '/console', headers: { accept: 'text/html' } });
    expect(browser.statusCode).toBe(503);
    expect(browser.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(browser.body).toContain('<h1>The console is not built</h1>');

    // Built while the server runs: the next request finds it.
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>built</title>');
    writeFileSync(join(dir, 'assets', 'app-abc.js'), 'console.log(1);');
    expect((await app.inject({ method: 'GET', url: '/console/x' })).body).toContain('built');

    // Read once: with the files gone from the disk, the answers do not change.
    rmSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), 'changed on disk');
    expect((await app.inject({ method: 'GET', url: '/console/' })).body).toContain('<title>built</title>');
    const asset = await app.inject({ method: 'GET', url: '/console/assets/app-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.body).toBe('console.log(1);');
    await app.close();
  });
});
