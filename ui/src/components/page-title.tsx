import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';

/** The page's h1 (focused after navigation, see main.tsx) and the document title. */
export function PageTitle({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · convert-config registry`;
  }, [title]);
  return <h1 tabIndex={-1}>{children ?? title}</h1>;
}
