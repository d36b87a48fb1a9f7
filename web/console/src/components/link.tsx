/** An in-console link: a real <a href> (open in a new tab works), followed without a reload. */
import type { ComponentChildren } from 'preact';
import { BASE, navigate } from '../router';

export function Link({
  to,
  children,
  class: className,
  current,
}: {
  readonly to: string;
  readonly children: ComponentChildren;
  readonly class?: string;
  readonly current?: boolean;
}) {
  return (
    <a
      href={`${BASE}${to}`}
      class={className}
      aria-current={current ? 'page' : undefined}
      onClick={(e) => {
        // Modified clicks keep the browser's meaning (new tab, new window, download).
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
