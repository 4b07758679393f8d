import { api, seg } from '../api.js';
import { PageTitle } from '../components/page-title.js';
import { ProblemMessage } from '../components/problem-message.js';
import { When } from '../format.js';
import { useLoad } from '../load.js';
import { href, type Location } from '../router.js';
import type { ModuleClass, Page } from '../types.js';

/** One registered class: whether it may be a quantized class, and which live configs use it. */
export function ModuleClassPage({ params, where }: { params: Record<string, string>; where: Location }) {
  const id = params.id!;
  const pageToken = where.query.get('pageToken') ?? '';
  const moduleClass = useLoad((signal) => api<ModuleClass>(`/v1/module-classes/${seg(id)}`, { signal }).then((a) => a.data), [id]);
  const references = useLoad(
    (signal) =>
      api<Page<string>>(`/v1/module-classes/${seg(id)}/references?pageSize=100${pageToken ? `&pageToken=${seg(pageToken)}` : ''}`, { signal }).then((a) => a.data),
    [id, pageToken],
  );
  const c = moduleClass.data;
  return (
    <>
      <p class="breadcrumb">
        <a href={href('/module-classes')}>Module classes</a>
      </p>
      <PageTitle title={id}>
        <code class="heading-code">{id}</code>
      </PageTitle>
      {moduleClass.error && <ProblemMessage error={moduleClass.error} onReload={moduleClass.reload} />}
      {c && (
        <dl class="facts">
          <dt>fromObserved</dt>
          <dd>{c.fromObserved ? 'yes: defines from_observed, so it may be a quantized class' : 'no: it may only be an observed class'}</dd>
          <dt>Description</dt>
          <dd>{c.description || <span class="muted">none</span>}</dd>
          <dt>Origin</dt>
          <dd>{c.builtIn ? 'built in (registered on first start)' : 'registered by a user'}</dd>
          <dt>Registered</dt>
          <dd>
            <When at={c.createdAt} />
            {c.updatedAt !== c.createdAt && (
              <>
                , changed <When at={c.updatedAt} />
              </>
            )}
          </dd>
        </dl>
      )}
      <section aria-labelledby="refs-h">
        <h2 id="refs-h">Configs that use it</h2>
        <p class="hint">Live configs whose latest version names this class.</p>
        {references.error && <ProblemMessage error={references.error} />}
        {references.data && references.data.items.length === 0 && <p class="empty">No live config uses it.</p>}
        {references.data && references.data.items.length > 0 && (
          <ul class="references">
            {references.data.items.map((name) => (
              <li key={name}>
                <a href={href(`/configs/${name}`)}>{name}</a>
              </li>
            ))}
          </ul>
        )}
        {references.data && (
          <nav class="pager" aria-label="Pages">
            {pageToken && <a href={href(`/module-classes/${seg(id)}`)}>First page</a>}
            {references.data.nextPageToken && (
              <a rel="next" href={href(`/module-classes/${seg(id)}`, { pageToken: references.data.nextPageToken })}>
                Next page
              </a>
            )}
          </nav>
        )}
        <p>
          <a href={href('/configs', { usesClass: id })}>Configs using it, with their labels and versions</a>
        </p>
      </section>
    </>
  );
}
