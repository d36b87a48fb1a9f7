/**
 * GET /webchat/{botId}/widget.js: the script a site includes to add the chat launcher
 * (web/webchat/src/widget.ts). The built bundle reads one free name, RELEVO_WIDGET; the answer
 * wraps it in a function that binds that name to the bot's id and name, so the launcher's label
 * says whom the visitor chats with and no global variable is left on the host page.
 */
import { webchatAssets } from './webchat-assets.js';

/**
 * JSON as a JavaScript expression: JSON.stringify leaves U+2028/U+2029 as they are, which older
 * engines read as line ends inside a string; escaped, the text means the same everywhere.
 */
function literal(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/**
 * `frameAncestors`: the sites that may frame the chat's ?embed=1 page, or null for any; on
 * another site the script shows no button (the browser would refuse the frame anyway).
 */
export function widgetScript(
  bot: { readonly id: string; readonly name: string },
  frameAncestors: readonly string[] | null,
): string {
  const config = literal({ botId: bot.id, name: bot.name, frameAncestors });
  return `(function (RELEVO_WIDGET) {\n${webchatAssets().widget}\n})(${config});\n`;
}

/**
 * For an id that is not a web chat bot: nothing on the page, and a warning in the console of
 * whoever placed the tag. A script, not the 404 envelope, because a browser runs no script it got
 * with an error status, and says only "404" about it.
 */
export function missingWidgetScript(botId: string): string {
  const message = `relevo web chat: there is no web chat bot with the id ${JSON.stringify(botId.slice(0, 100))}; check the id in widget.js's URL. The chat button is not shown.`;
  return `console.warn(${literal(message)});\n`;
}
