import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import './styles.css';
import { Layout } from './components/layout.js';
import { ActivityPage } from './pages/activity-page.js';
import { AliasHistoryPage, AliasesPage } from './pages/aliases-page.js';
import { ConfigPage } from './pages/config-page.js';
import { ConfigsPage } from './pages/configs-page.js';
import { HistoryPage } from './pages/history-page.js';
import { ModuleClassPage } from './pages/module-class-page.js';
import { ModuleClassesPage } from './pages/module-classes-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { interceptLinks, match, useLocation, type Location } from './router.js';
import { session } from './session.js';

type PageComponent = (props: { params: Record<string, string>; where: Location }) => preact.JSX.Element;

/** Every page has a URL a person can paste; these are all of them (under /ui). */
const ROUTES: Array<[string, PageComponent]> = [
  ['/', ConfigsPage],
  ['/configs', ConfigsPage],
  ['/configs/:name', ConfigPage],
  ['/configs/:name/history', HistoryPage],
  ['/configs/:name/aliases', AliasesPage],
  ['/configs/:name/aliases/:alias', AliasHistoryPage],
  ['/module-classes', ModuleClassesPage],
  ['/module-classes/:id', ModuleClassPage],
  ['/activity', ActivityPage],
  ['/sign-in', SignInPage],
];

function App() {
  const where = useLocation();
  const first = useRef(true);
  useEffect(() => {
    // After a navigation (not the first load), move focus to the new page's heading so a screen
    // reader announces it and Tab continues from there.
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [where.path, where.query.toString()]);
  for (const [pattern, Page] of ROUTES) {
    const params = match(pattern, where.path);
    if (params !== null) {
      return (
        <Layout where={where}>
          <Page params={params} where={where} />
        </Layout>
      );
    }
  }
  return (
    <Layout where={where}>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        There is no page at this address. <a href="/ui/configs">See all configs</a>.
      </p>
    </Layout>
  );
}

interceptLinks();
void session.probe();
render(<App />, document.getElementById('app')!);
