/** The real browser of the end-to-end tests: Debian's chromium, headless, driven by playwright-core. */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Whether chromium is installed; when it is not, says loudly that `what` is skipped. */
export function haveChromiumFor(what: string): boolean {
  const have = existsSync(CHROMIUM);
  if (!have) {
    console.warn(
      `\n*** ${CHROMIUM} not found: ${what} is SKIPPED. Install Debian's chromium package to run it. ***\n`,
    );
  }
  return have;
}

/**
 * Launches chromium headless, without its sandbox (which cannot start in an unprivileged
 * container) and without the background traffic (updates, sync, first-run pages) that a test
 * neither needs nor may reach; `extraArgs` come after these.
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}
