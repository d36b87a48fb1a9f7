/**
 * A screen's heading. It takes the focus when the screen opens, so a keyboard or screen-reader
 * user lands on the new content after a navigation instead of on a link that went away.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function PageTitle({
  children,
  title,
}: {
  readonly children: ComponentChildren;
  readonly title: string;
}) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · relevo console`;
    ref.current?.focus();
  }, [title]);
  return (
    <h1 tabIndex={-1} ref={ref} class="page-title">
      {children}
    </h1>
  );
}
