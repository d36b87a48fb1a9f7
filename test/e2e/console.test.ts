/**
 * The console in a real browser, against the built server as an operator runs it (`relevo serve`
 * in a child process): signing in with the admin token and with a project's credential, creating
 * a project and a credential (their secrets shown once), revoking one, a wrong token, a credential
 * revoked while signed in, and the server going away and coming back. At 1280 px and at 390 px,
 * with screenshots in test-artifacts/ and an axe-core scan of every screen. Any Content-Security-
 * Policy violation fails the test. Without /usr/bin/chromium it is skipped, loudly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromiumFor, launchChromium } from '../helpers/browser.js';
import { checkScreen, openConsole, WIDTHS, type Width } from '../helpers/console-page.js';
import { type Served, spawnServer } from '../helpers/spawned-server.js';

// The callbacks given to page.evaluate run in the browser. The project compiles without the DOM
// library, so the few browser globals they touch are declared here, for this file only.
declare const document: {
  readonly documentElement: { readonly scrollWidth: number };
  readonly body: { readonly innerHTML: string; readonly innerText: string };
  readonly activeElement: { readonly id: string } | null;
};
declare const localStorage: { readonly length: number };
declare const sessionStorage: { getItem(key: string): string | null };

const haveChromium = haveChromiumFor('the console browser test');

const TOKEN = 'console-test-admin-token-0123456789';

interface Secrets {
  readonly projectId: string;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

describe.skipIf(!haveChromium)('console in a browser', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let served: Served;
  let base: string;
  let browser: Browser;
  /** Content-Security-Policy violations and page errors the browser reported, for every page. */
  const problems: string[] = [];

  const adminPost = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const r = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(201);
    return (await r.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relevo-console-e2e-'));
    env = { DATABASE_URL: `sqlite:${join(dir, 'console.db')}`, RELEVO_ADMIN_TOKEN: TOKEN };
    served = await spawnServer(env);
    base = `http://127.0.0.1:${served.port}`;
    // More than one page of projects (the console asks for 20 at a time), so "load more" shows.
    for (let i = 1; i <= 21; i++)
      await adminPost('/admin/v1/projects', { name: `Seeded ${String(i).padStart(2, '0')}` });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    served?.child.kill('SIGTERM');
    await served?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (width: Width) => openConsole(browser, base, width, problems);
  const check = checkScreen;

  async function signInAdmin(page: Page): Promise<void> {
    await page.getByLabel('Admin token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  }

  async function readSecrets(page: Page, withProject: boolean): Promise<Secrets> {
    const value = (label: string) => page.getByLabel(label, { exact: true }).inputValue();
    return {
      projectId: withProject ? await value('Project id') : '',
      apiKey: await value('API key'),
      clientId: await value('Client id'),
      clientSecret: await value('Client secret'),
    };
  }

  it('refuses a wrong admin token on the sign-in form', async () => {
    const { context, page } = await open(WIDTHS[0]);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await check(page, 'sign-in', WIDTHS[0]);
    await page.getByLabel('Admin token', { exact: true }).fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('The admin token was not accepted. Check it and try again.');
    await check(page, 'sign-in-refused', WIDTHS[0]);
    // Still on the form; nothing was kept.
    expect(await page.evaluate(() => sessionStorage.getItem('relevo.console.session'))).toBeNull();
    await context.close();
  });

  for (const width of WIDTHS) {
    it(`admin at ${width.width} px: projects page by page, a project and a credential with their secrets shown once, a revocation`, async () => {
      const { context, page } = await open(width);
      if (width.name === 'phone') {
        // From the keyboard alone: the focus starts on the heading; Tab reaches the way to sign
        // in (one stop for the radio group), then the token field; Enter submits.
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.keyboard.press('Tab');
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
        await page.keyboard.type(TOKEN);
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
      } else {
        await signInAdmin(page);
      }
      const projects = page.getByRole('list', { name: 'Projects' }).getByRole('listitem');
      await page.getByRole('button', { name: 'Load more projects' }).waitFor();
      expect(await projects.count()).toBe(20);
      await check(page, 'projects', width);
      await page.getByRole('button', { name: 'Load more projects' }).click();
      await page.getByRole('link', { name: 'Seeded 21' }).waitFor();
      expect(await page.getByRole('button', { name: 'Load more projects' }).count()).toBe(0);

      // Create a project: its secrets once, with copy buttons.
      const name = `Acme ${width.name}`;
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByRole('heading', { name: `Project “${name}” created` }).waitFor();
      expect(await page.getByText('you will not see them again').count()).toBe(1);
      const created = await readSecrets(page, true);
      expect(created.apiKey.length).toBeGreaterThan(20);
      expect(created.clientSecret.length).toBeGreaterThan(20);
      await page.getByRole('button', { name: 'Copy API key' }).click();
      await page.getByText('Copied', { exact: true }).waitFor();
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(created.apiKey);
      await check(page, 'project-created', width);
      // The credential works against the API.
      const probe = await fetch(`${base}/v1/external-support/${created.projectId}/conversations?limit=1`, {
        headers: { 'x-api-key': created.apiKey },
      });
      expect(probe.status).toBe(200);
      await page.getByRole('button', { name: 'I have saved them' }).click();
      await page.getByRole('heading', { name: 'Create a project' }).waitFor();
      // Once means once: the secrets are gone from the page and were never stored.
      const html = await page.evaluate(() => document.body.innerHTML);
      expect(html).not.toContain(created.apiKey);
      expect(html).not.toContain(created.clientSecret);
      expect(await page.evaluate(() => localStorage.length)).toBe(0);
      expect(await context.cookies()).toEqual([]);
      expect(page.url()).toBe(`${base}/console`);

      // The project's page: its first credential; a new one (secret once), then revoked.
      await page.getByRole('link', { name }).first().click();
      await page.getByRole('heading', { level: 1, name }).waitFor();
      expect(page.url()).toBe(`${base}/console/projects/${created.projectId}`);
      const credentials = page.getByRole('list', { name: 'Credentials' }).getByRole('listitem');
      expect(await credentials.count()).toBe(1);
      await page.getByRole('button', { name: 'Create a credential' }).click();
      await page.getByRole('heading', { name: 'Credential created' }).waitFor();
      const second = await readSecrets(page, false);
      expect(second.clientId).not.toBe(created.clientId);
      expect(await credentials.count()).toBe(2);
      await check(page, 'credential-created', width);
      await page.getByRole('button', { name: 'I have saved them' }).click();

      await page.getByRole('button', { name: `Revoke ${second.clientId}` }).click();
      await page.getByRole('button', { name: 'Yes, revoke' }).waitFor();
      await check(page, 'revoke-confirm', width);
      await page.getByRole('button', { name: 'Yes, revoke' }).click();
      const revokedRow = credentials.filter({ hasText: second.clientId });
      await revokedRow.getByText('Revoked', { exact: true }).waitFor();
      const basic = Buffer.from(`${second.clientId}:${second.clientSecret}`).toString('base64');
      const refused = await fetch(`${base}/v1/external-support/${created.projectId}/conversations?limit=1`, {
        headers: { authorization: `Basic ${basic}` },
      });
      expect(refused.status).toBe(401);
      // The first credential is untouched.
      expect(await credentials.filter({ hasText: created.clientId }).getByText('Active').count()).toBe(1);
      await check(page, 'project', width);

      // A reload keeps the tab signed in (session storage) and opens the same screen.
      await page.reload();
      await page.getByRole('heading', { level: 1, name }).waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('relevo.console.session'))).toBeNull();
      await context.close();
    });

    it(`a project credential at ${width.width} px sees its project only, without admin calls; revoked, it is signed out`, async () => {
      const project = await adminPost('/admin/v1/projects', { name: `Own ${width.name}` });
      const projectId = String(project.id);
      const credential = await adminPost(`/admin/v1/projects/${projectId}/credentials`, {});
      const { context, page } = await open(width);
      const adminCalls: string[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/admin/')) adminCalls.push(r.url());
      });
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      if (width.name === 'desktop') {
        await page.getByLabel("A project's API key", { exact: true }).check();
        await page.getByLabel('Project id', { exact: true }).fill(projectId);
        await page.getByLabel('API key', { exact: true }).fill(String(credential.apiKey));
      } else {
        await page.getByLabel("A project's client id and secret", { exact: true }).check();
        await page.getByLabel('Project id', { exact: true }).fill(projectId);
        await page.getByLabel('Client id', { exact: true }).fill(String(credential.clientId));
        await page.getByLabel('Client secret', { exact: true }).fill(String(credential.clientSecret));
      }
      await check(page, 'sign-in-project', width);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
      await page
        .getByText(
          width.name === 'desktop' ? 'Signed in with an API key' : 'Signed in with a client id and secret',
        )
        .waitFor();
      const projects = page.getByRole('list', { name: 'Projects' }).getByRole('listitem');
      expect(await projects.count()).toBe(1);
      expect(await projects.first().getByRole('link').textContent()).toBe(projectId);
      expect(await page.getByRole('heading', { name: 'Create a project' }).count()).toBe(0);
      await check(page, 'projects-as-project', width);
      await projects.first().getByRole('link').click();
      await page.getByText('Credentials are created and revoked with the admin token').waitFor();
      await check(page, 'project-as-project', width);
      expect(adminCalls).toEqual([]);

      // Revoked while signed in: the next request is refused, and the console says why.
      const revoked = await fetch(
        `${base}/admin/v1/projects/${projectId}/credentials/${String(credential.id)}`,
        {
          method: 'DELETE',
          headers: { authorization: `Bearer ${TOKEN}` },
        },
      );
      expect(revoked.status).toBe(200);
      await page.getByRole('link', { name: 'Projects', exact: true }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByText('Your credential was refused: it may have been revoked').waitFor();
      expect(await page.evaluate(() => sessionStorage.getItem('relevo.console.session'))).toBeNull();
      await check(page, 'signed-out-revoked', width);
      expect(adminCalls).toEqual([]);
      await context.close();
    });
  }

  it('says relevo is not reachable when the server stops, and recovers on retry once it is back', async () => {
    const width = WIDTHS[0];
    const { context, page } = await open(width);
    await signInAdmin(page);
    await page.getByRole('link', { name: 'Seeded 01' }).waitFor();

    served.child.kill('SIGTERM');
    await served.exited;
    await page.getByRole('link', { name: 'Seeded 01' }).click();
    const banner = page.getByRole('alert').filter({ hasText: 'relevo is not reachable' }).first();
    await banner.waitFor();
    expect(await page.locator('.banner').textContent()).toContain(
      'relevo is not reachable. The server may be stopped or restarting.',
    );
    await check(page, 'unreachable', width);

    served = await spawnServer(env, served.port);
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('heading', { level: 1, name: 'Seeded 01' }).waitFor();
    expect(await page.locator('.banner').count()).toBe(0);
    await context.close();
  });

  it('says so on the sign-in form when the admin API is off on the server', async () => {
    const off = await spawnServer({
      DATABASE_URL: `sqlite:${join(dir, 'off.db')}`,
      RELEVO_ADMIN_TOKEN: 'off',
    });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${off.port}/console`);
      await page.getByLabel('Admin token', { exact: true }).fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toBe(
        'The admin API is off on this server (RELEVO_ADMIN_TOKEN=off): sign in with a project credential.',
      );
      await context.close();
    } finally {
      off.child.kill('SIGTERM');
      await off.exited;
    }
  });

  it('met no Content-Security-Policy violation and no page error', () => {
    // Blocked requests to the stopped server are network errors, not policy violations.
    expect(
      problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to fetch|Failed to load resource/.test(p)),
    ).toEqual([]);
  });
});
