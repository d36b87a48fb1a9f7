// The web chat's two scripts, bundled by Vite into dist/web/webchat/ (scripts/build-web.js runs
// this file once per mode):
// - mode `chat`: the chat page's script (src/chat.ts → chat.js) and stylesheet (chat.css), plus
//   the page's HTML skeletons, copied as they are. The server inlines the script and the style
//   into each page with the response's nonce (src/channels/webchat/webchat-page.ts), so both are
//   classic, self-contained files: an IIFE with no imports, and one stylesheet.
// - mode `widget`: the embeddable launcher (src/widget.ts → widget.js), which the server wraps
//   with the bot's id and name for GET /webchat/{botId}/widget.js.
// Rollup cannot emit an IIFE for two entries at once, hence one build per script.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const TEMPLATES = ['chat.html', 'not-found.html'];

/** The HTML skeletons the server fills per response ({{placeholders}}), emitted unchanged. */
function templates() {
  return {
    name: 'relevo-webchat-templates',
    buildStart() {
      for (const file of TEMPLATES) this.addWatchFile(join(here, file));
    },
    generateBundle() {
      for (const file of TEMPLATES) {
        this.emitFile({ type: 'asset', fileName: file, source: readFileSync(join(here, file), 'utf8') });
      }
    },
  };
}

export default defineConfig(({ mode }) => {
  const widget = mode === 'widget';
  return {
    root: here,
    publicDir: false,
    logLevel: 'warn',
    plugins: widget ? [] : [templates()],
    build: {
      outDir: join(here, '..', '..', 'dist', 'web', 'webchat'),
      // Two builds share the folder (and rebuild on their own under --watch): neither empties
      // it; scripts/build-web.js does, once, before both.
      emptyOutDir: false,
      // Every browser that shows the chat speaks ES2020.
      target: 'es2020',
      // Readable stylesheet: it is inlined as written, and is small (~8 KB).
      cssMinify: false,
      sourcemap: false,
      reportCompressedSize: false,
      lib: {
        entry: join(here, 'src', widget ? 'widget.ts' : 'chat.ts'),
        formats: ['iife'],
        name: widget ? 'relevoWidget' : 'relevoChat',
        fileName: () => (widget ? 'widget.js' : 'chat.js'),
        cssFileName: 'chat',
      },
      rollupOptions: {
        output: {
          // The whole file is strict code; the directive comes first so it covers everything.
          strict: false,
          banner: '"use strict";',
        },
      },
    },
  };
});
