import type { ComponentChildren } from 'preact';
import { href, type Location } from '../router.js';
import { session } from '../session.js';
import { useSession } from '../use-session.js';

const NAV: Array<[string, string, (path: string) => boolean]> = [
  ['Configs', '/configs', (p) => p === '/' || p.startsWith('/configs')],
  ['Module classes', '/module-classes', (p) => p.startsWith('/module-classes')],
  ['Activity', '/activity', (p) => p.startsWith('/activity')],
];

export function Layout({ where, children }: { where: Location; children: ComponentChildren }) {
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('/configs')}>
          convert-config registry
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([label, path, active]) => (
              <li key={path}>
                <a href={href(path)} aria-current={active(where.path) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <SessionStatus where={where} />
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer class="bottom">
        <a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI</a>
      </footer>
    </>
  );
}

function SessionStatus({ where }: { where: Location }) {
  const state = useSession();
  if (state.probing && state.role === null) return <p class="session" aria-live="polite" />;
  const back = `/ui${where.path === '/' ? '' : where.path}${where.query.size ? `?${where.query}` : ''}`;
  return (
    <div class="session" aria-live="polite">
      {state.signedIn ? (
        <>
          <span>
            Signed in · role <strong class="role">{state.role ?? 'none'}</strong>
          </span>
          <button type="button" class="link-button" onClick={() => session.signOut()}>
            Sign out
          </button>
        </>
      ) : state.open ? (
        <span title="No tokens exist: anyone who can reach the registry may write">
          Open registry · role <strong class="role">admin</strong>
        </span>
      ) : (
        <>
          <span>{state.role === 'reader' ? 'Reading anonymously' : 'Not signed in'}</span>
          {where.path !== '/sign-in' && (
<a href={href('/sign-in', { next: back })}>Sign in</a>
          )}
        </>
      )}
    </div>
  );
}
