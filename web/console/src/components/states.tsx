/** The states every screen shows the same way: loading, failed, empty. */
import type { ComponentChildren } from 'preact';

export function Loading({ what }: { readonly what: string }) {
  return (
    <p class="state state-loading" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ children }: { readonly children: ComponentChildren }) {
  return (
    <p class="state state-error" role="alert">
      {children}
    </p>
  );
}

export function Empty({ children }: { readonly children: ComponentChildren }) {
  return <p class="state state-empty">{children}</p>;
}

/** "Load more" under a cursor-paged list; nothing once the last page is in. */
export function LoadMore({
  hasMore,
  loading,
  onMore,
  what,
}: {
  readonly hasMore: boolean;
  readonly loading: boolean;
  readonly onMore: () => void;
  readonly what: string;
}) {
  if (!hasMore) return null;
  return (
    <div class="load-more">
      <button type="button" class="button" onClick={onMore} disabled={loading}>
        {loading ? 'Loading…' : `Load more ${what}`}
      </button>
    </div>
  );
}
