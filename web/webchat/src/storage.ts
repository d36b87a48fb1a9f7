/**
 * The visitor's session token and unsent messages, kept in localStorage. localStorage can be
 * missing or throw (private modes, blocked storage, a third-party frame whose storage the browser
 * refuses): the chat then still works for this page's lifetime, from memory.
 */
const memory: Record<string, string | null> = {};

export function load(key: string): string | null {
  try {
    const v = localStorage.getItem(key);
    return v === null ? memory[key] || null : v;
  } catch {
    return memory[key] || null;
  }
}

export function save(key: string, value: string | null): void {
  memory[key] = value;
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    /* memory only */
  }
}
