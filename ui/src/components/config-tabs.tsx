import { href } from '../router.js';

const TABS: Array<[string, string]> = [
  ['Overview', ''],
  ['History', '/history'],
  ['Aliases', '/aliases'],
];

/** The config's name as the page heading's context, and its three views. */
export function ConfigTabs({ name, active }: { name: string; active: '' | '/history' | '/aliases' }) {
  return (
    <nav class="tabs" aria-label={`${name} views`}>
      <ul>
        {TABS.map(([label, suffix]) => (
          <li key={suffix}>
            <a href={href(`/configs/${name}${suffix}`)} aria-current={suffix === active ? 'page' : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function Breadcrumb({ name }: { name: string }) {
  return (
    <p class="breadcrumb">
      <a href={href('/configs')}>Configs</a> / <a href={href(`/configs/${name}`)}>{name}</a>
    </p>
  );
}
