import { href } from '../router.js';

/** A module class identifier, linked to its page. */
export function ClassLink({ id }: { id: string }) {
  return (
    <a class="class-id" href={href(`/module-classes/${encodeURIComponent(id)}`)}>
      <code>{id}</code>
    </a>
  );
}

export function LabelChips({ labels, linked = true }: { labels: Record<string, string>; linked?: boolean }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="chips" aria-label="Labels">
      {entries.map(([key, value]) => (
        <li key={key}>
          {linked ? (
            <a class="chip" href={href('/configs', { label: `${key}:${value}` })} title={`Configs labelled ${key}:${value}`}>
              {key}: {value}
            </a>
          ) : (
            <span class="chip">
              {key}: {value}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}
