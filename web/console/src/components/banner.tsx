/** The banner across the top when relevo stopped answering: what happened, and a retry. */
export function UnreachableBanner({ onRetry }: { readonly onRetry: () => void }) {
  return (
    <div class="banner" role="alert">
      <span>relevo is not reachable. The server may be stopped or restarting.</span>
      <button type="button" class="button button-small" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
