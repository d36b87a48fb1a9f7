/**
 * The web chat's files, bundled from web/webchat/ by `npm run build` (Vite) into dist/web/webchat/:
 * the page's HTML skeletons, stylesheet and script, and the embeddable widget's script. They are read once, when
 * the routes are registered, so a checkout that was never built fails at start-up with a clear
 * message instead of serving a broken page.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface WebchatAssets {
  /** chat.html: {{name}}, {{embed}}, {{initial}}, {{icon}}, {{style}} and {{script}} are filled per response. */
  readonly chatHtml: string;
  readonly notFoundHtml: string;
  readonly style: string;
  readonly script: string;
  /** widget.js: a classic script that reads the free name RELEVO_WIDGET (see webchat-widget.ts). */
  readonly widget: string;
}

/**
 * Where the built files are, relative to this module: the compiled server runs from
 * dist/channels/webchat/, next to dist/web/; the TypeScript sources (as the test runner loads
 * them) sit in src/channels/webchat/ and use the repository's dist/web/.
 */
const CANDIDATES = ['../../web/webchat/', '../../../dist/web/webchat/'].map((rel) =>
  fileURLToPath(new URL(rel, import.meta.url)),
);

let loaded: WebchatAssets | undefined;

export function webchatAssets(): WebchatAssets {
  if (loaded !== undefined) return loaded;
  const dir = CANDIDATES.find((d) => existsSync(`${d}chat.js`));
  if (dir === undefined) {
    throw new Error(
      `The web chat page is not built (looked for chat.js in ${CANDIDATES.join(' and ')}): run \`npm run build\`.`,
    );
  }
  const read = (file: string) => readFileSync(`${dir}${file}`, 'utf8');
  const script = read('chat.js');
  // Inlined in a <script> element, the code must not close it early.
  if (/<\/script/i.test(script))
    throw new Error('The web chat script contains "</script"; it cannot be inlined.');
  loaded = {
    chatHtml: read('chat.html'),
    notFoundHtml: read('not-found.html'),
    style: read('chat.css'),
    script,
    widget: read('widget.js'),
  };
  return loaded;
}
