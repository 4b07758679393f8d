import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ClassLink } from '../components/class-link.js';
import { PageTitle } from '../components/page-title.js';
import { ProblemMessage } from '../components/problem-message.js';
import { When } from '../format.js';
import { useLoad } from '../load.js';
import { href, navigate, type Location } from '../router.js';
import type { ModuleClass, Page } from '../types.js';

/** The registered identifiers configs may name, by id, filtered by prefix, paged. */
export function ModuleClassesPage({ where }: { where: Location }) {
  const prefix = where.query.get('prefix') ?? '';
  const pageToken = where.query.get('pageToken') ?? '';
  const list = useLoad(
    (signal) => {
      const search = new URLSearchParams({ pageSize: '100' });
      if (prefix) search.set('prefix', prefix);
      if (pageToken) search.set('pageToken', pageToken);
      return api<Page<ModuleClass>>(`/v1/module-classes?${search}`, { signal }).then((a) => a.data);
    },
    [prefix, pageToken],
  );
  const [value, setValue] = useState(prefix);
  return (
    <>
      <PageTitle title="Module classes" />
      <p class="lead">
        The identifiers configs may name: fully qualified public import paths. A quantized class must define{' '}
        <code>from_observed</code> (<code>fromObserved</code>).
      </p>
      <form
        class="filters"
        role="search"
        aria-label="Filter module classes"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href('/module-classes', { prefix: value }));
        }}
      >
        <div class="field">
          <label for="c-prefix">Identifier starts with</label>
          <input id="c-prefix" type="search" value={value} placeholder="torch.ao.nn.quantized" onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field actions">
          <button type="submit">Apply</button>
        </div>
      </form>
      {list.error && <ProblemMessage error={list.error} onReload={list.reload} />}
      {list.data && list.data.items.length === 0 && <p class="empty">No module class matches.</p>}
      {list.data && list.data.items.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Module classes">
          <table class="classes stack">
            <thead>
              <tr>
                <th scope="col">Identifier</th>
                <th scope="col">fromObserved</th>
                <th scope="col">Description</th>
                <th scope="col">Registered</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    <ClassLink id={c.id} />
                    {c.builtIn && <span class="badge">built in</span>}
                  </th>
                  <td data-label="fromObserved">{c.fromObserved ? 'yes (quantized class)' : 'no'}</td>
                  <td class="description" data-label="Description">{c.description}</td>
                  <td data-label="Registered" class="when">
                    <When at={c.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && (
        <nav class="pager" aria-label="Pages">
          {pageToken && <a href={href('/module-classes', { prefix })}>First page</a>}
          {list.data.nextPageToken && (
            <a rel="next" href={href('/module-classes', { prefix, pageToken: list.data.nextPageToken })}>
              Next page
            </a>
          )}
        </nav>
      )}
    </>
  );
}
