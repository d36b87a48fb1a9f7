/** Loading data in screens: one value, or a list the API pages with cursors (load more). */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError, type Page, Unauthorized } from './api';

export interface Loaded<T> {
  readonly value: T | undefined;
  readonly loading: boolean;
  readonly error: string | undefined;
  /** Replaces the value (after a change the screen made itself). */
  set(value: T): void;
}

/** Loads once per change of `key`; a 401 is the layout's business (it signs out), not the screen's. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(undefined);
    load().then(
      (v) => {
        if (!live) return;
        setValue(v);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live || e instanceof Unauthorized) return;
        setError(describeError(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // `load` is a new closure on every render; `key` says when it means something else.
  }, [key]);
  return { value, loading, error, set: setValue };
}

export interface Paged<T> {
  readonly items: readonly T[];
  readonly loading: boolean;
  readonly error: string | undefined;
  readonly hasMore: boolean;
  more(): void;
  /** Puts an item the screen just created at the top, without reloading. */
  prepend(item: T): void;
}

/**
 * A cursor-paged list: the first page at once, the next one each time `more` is called. An item
 * the screen prepended is not repeated when its page arrives later (`idOf` says which is which).
 */
export function usePaged<T>(
  loadPage: (after: string | undefined) => Promise<Page<T>>,
  idOf: (item: T) => string,
  key: string,
): Paged<T> {
  const [items, setItems] = useState<readonly T[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>(undefined);
  const generation = useRef(0);

  const fetchPage = useCallback(
    (after: string | undefined, replace: boolean) => {
      const mine = ++generation.current;
      setLoading(true);
      setError(undefined);
      loadPage(after).then(
        (page) => {
          if (mine !== generation.current) return;
          setItems((old) => {
            if (replace) return page.items;
            const seen = new Set(old.map(idOf));
            return [...old, ...page.items.filter((item) => !seen.has(idOf(item)))];
          });
          setCursor(page.nextCursor);
          setLoading(false);
        },
        (e: unknown) => {
          if (mine !== generation.current || e instanceof Unauthorized) return;
          setError(describeError(e));
          setLoading(false);
        },
      );
    },
    [key],
  );

  useEffect(() => {
    fetchPage(undefined, true);
    return () => {
      generation.current++;
    };
  }, [fetchPage]);

  return {
    items,
    loading,
    error,
    hasMore: typeof cursor === 'string',
    more: () => {
      if (typeof cursor === 'string' && !loading) fetchPage(cursor, false);
    },
    prepend: (item) => setItems((old) => [item, ...old]),
  };
}
