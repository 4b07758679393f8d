import { useState } from 'preact/hooks';
import { api, listAll, seg } from '../api.js';
import { ActionOutcome, ConfirmButton, useAction } from '../components/action.js';
import { ClassLink } from '../components/class-link.js';
import { Breadcrumb, ConfigTabs } from '../components/config-tabs.js';
import { PageTitle } from '../components/page-title.js';
import { ProblemMessage } from '../components/problem-message.js';
import { rollback as rollbackTo } from '../config-writes.js';
import { When } from '../format.js';
import { useLoad } from '../load.js';
import { href, navigate, type Location } from '../router.js';
import { session } from '../session.js';
import type { ConfigVersion, Diff } from '../types.js';
import { useSession } from '../use-session.js';

/** Every version, newest first; any two compared side by side (the API's /diff). */
export function HistoryPage({ params, where }: { params: Record<string, string>; where: Location }) {
  const name = params.name!;
  useSession();
  const versions = useLoad(() => listAll<ConfigVersion>(`/v1/configs/${seg(name)}/versions`), [name]);
  const newest = versions.data?.[0]?.version;
  const to = Number(where.query.get('to') ?? '') || newest;
  const from = Number(where.query.get('from') ?? '') || (to !== undefined && to > 1 ? to - 1 : undefined);
  return (
    <>
      <Breadcrumb name={name} />
      <PageTitle title={`${name}: history`}>History of {name}</PageTitle>
      <ConfigTabs name={name} active="/history" />
      {versions.error && <ProblemMessage error={versions.error} onReload={versions.reload} />}
      {versions.loading && !versions.data && <p class="loading">Loading…</p>}
      {versions.data && (
        <>
          {versions.data.length > 1 && from !== undefined && to !== undefined && (
            <>
              <CompareForm key={`${from}-${to}`} name={name} versions={versions.data} from={from} to={to} />
              <DiffView name={name} from={from} to={to} />
            </>
          )}
          <VersionTable name={name} versions={versions.data} reload={versions.reload} />
        </>
      )}
    </>
  );
}

function CompareForm({ name, versions, from, to }: { name: string; versions: ConfigVersion[]; from: number; to: number }) {
  const [values, setValues] = useState({ from, to });
  const options = versions.map((v) => (
    <option key={v.version} value={v.version}>
      {`Version ${v.version}${v.description ? ` · ${v.description.slice(0, 40)}` : ''}`}
    </option>
  ));
  return (
    <form
      class="compare"
      aria-label="Compare two versions"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(href(`/configs/${name}/history`, values));
      }}
    >
      <div class="field">
        <label for="cmp-from">From</label>
        <select id="cmp-from" value={values.from} onChange={(e) => setValues({ ...values, from: Number((e.target as HTMLSelectElement).value) })}>
          {options}
        </select>
      </div>
      <div class="field">
        <label for="cmp-to">To</label>
        <select id="cmp-to" value={values.to} onChange={(e) => setValues({ ...values, to: Number((e.target as HTMLSelectElement).value) })}>
          {options}
        </select>
      </div>
      <div class="field actions">
        <button type="submit">Compare</button>
      </div>
    </form>
  );
}

/** The diff side by side: the left column is `from`, the right `to`; only what changed is listed. */
function DiffView({ name, from, to }: { name: string; from: number; to: number }) {
  const diff = useLoad((signal) => api<Diff>(`/v1/configs/${seg(name)}/diff?from=${from}&to=${to}`, { signal }).then((a) => a.data), [name, from, to]);
  if (diff.error) return <ProblemMessage error={diff.error} />;
  if (!diff.data) return <p class="loading">Comparing…</p>;
  const { changes } = diff.data;
  const quantTypes = Object.entries(changes.mappings).filter(([, c]) => c.added.length + c.removed.length + c.changed.length > 0);
  const attrs = changes.preservedAttributes;
  const labels = changes.labels;
  const labelRows = [
    ...Object.entries(labels.removed).map(([k, v]) => ({ key: k, from: v, to: undefined as string | undefined, kind: 'removed' })),
    ...Object.entries(labels.added).map(([k, v]) => ({ key: k, from: undefined as string | undefined, to: v, kind: 'added' })),
    ...Object.entries(labels.changed).map(([k, v]) => ({ key: k, from: v.from, to: v.to, kind: 'changed' })),
  ];
  const nothing = quantTypes.length === 0 && attrs.added.length + attrs.removed.length === 0 && !attrs.orderChanged && !changes.description && labelRows.length === 0;
  return (
    <section class="diff" aria-labelledby="diff-h">
      <h2 id="diff-h">
        Version {from} → version {to}
      </h2>
      {nothing && <p class="notice">No differences: the two versions have the same content.</p>}
      {quantTypes.map(([quantType, c]) => (
        <div class="table-scroll" key={quantType} tabIndex={0} role="region" aria-label={`${quantType} mapping changes`}>
          <table class="diff-table stack">
            <caption>
              <code>{quantType}</code> mappings
            </caption>
            <thead>
              <tr>
                <th scope="col">Change</th>
                <th scope="col">Observed class</th>
                <th scope="col">Version {from}</th>
                <th scope="col">Version {to}</th>
              </tr>
            </thead>
            <tbody>
              {c.removed.map((m) => (
                <tr key={`r-${m.observed}`} class="removed">
                  <td class="change-kind">removed</td>
                  <td data-label="Observed"><ClassLink id={m.observed} /></td>
                  <td data-label={`Version ${from}`}><ClassLink id={m.quantized} /></td>
                  <td class="none" data-label={`Version ${to}`}>—</td>
                </tr>
              ))}
              {c.added.map((m) => (
                <tr key={`a-${m.observed}`} class="added">
                  <td class="change-kind">added</td>
                  <td data-label="Observed"><ClassLink id={m.observed} /></td>
                  <td class="none" data-label={`Version ${from}`}>—</td>
                  <td data-label={`Version ${to}`}><ClassLink id={m.quantized} /></td>
                </tr>
              ))}
              {c.changed.map((m) => (
                <tr key={`c-${m.observed}`} class="changed">
                  <td class="change-kind">changed</td>
                  <td data-label="Observed"><ClassLink id={m.observed} /></td>
                  <td data-label={`Version ${from}`}><ClassLink id={m.from} /></td>
                  <td data-label={`Version ${to}`}><ClassLink id={m.to} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {(attrs.added.length > 0 || attrs.removed.length > 0 || attrs.orderChanged) && (
        <div class="diff-block">
          <h3>Preserved attributes</h3>
          <ul>
            {attrs.removed.map((a) => (
              <li key={`r-${a}`} class="removed">removed <code>{a}</code></li>
            ))}
            {attrs.added.map((a) => (
              <li key={`a-${a}`} class="added">added <code>{a}</code></li>
            ))}
            {attrs.orderChanged && <li class="changed">order changed</li>}
          </ul>
        </div>
      )}
      {labelRows.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Label changes">
          <table class="diff-table stack">
            <caption>Labels</caption>
            <thead>
              <tr>
                <th scope="col">Change</th>
                <th scope="col">Key</th>
                <th scope="col">Version {from}</th>
                <th scope="col">Version {to}</th>
              </tr>
            </thead>
            <tbody>
              {labelRows.map((row) => (
                <tr key={row.key} class={row.kind}>
                  <td class="change-kind">{row.kind}</td>
                  <td data-label="Key"><code>{row.key}</code></td>
                  <td class={row.from === undefined ? 'none' : undefined} data-label={`Version ${from}`}>{row.from ?? '—'}</td>
                  <td class={row.to === undefined ? 'none' : undefined} data-label={`Version ${to}`}>{row.to ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {changes.description && (
        <div class="diff-block">
          <h3>Description</h3>
          <div class="side-by-side">
            <div class="removed">
              <span class="side-label">Version {from}</span>
              <p>{changes.description.from || <span class="muted">empty</span>}</p>
            </div>
            <div class="added">
              <span class="side-label">Version {to}</span>
              <p>{changes.description.to || <span class="muted">empty</span>}</p>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}

function VersionTable({ name, versions, reload }: { name: string; versions: ConfigVersion[]; reload: () => void }) {
  const action = useAction();
  const latest = versions[0]!;
  const rollback = (version: number) =>
    action.run(async () => {
      const said = await rollbackTo(name, version, latest.version);
      reload();
      return said;
    });
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      <ActionOutcome action={action} onReload={() => (action.clear(), reload())} what={name} />
      <div class="table-scroll" tabIndex={0} role="region" aria-label="Versions">
        <table class="versions stack">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Written</th>
              <th scope="col">By</th>
              <th scope="col">Description</th>
              <th scope="col">Compare</th>
              {session.can('writer') && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <th scope="row">
                  <a href={href(`/configs/${name}`, { version: v.version })}>{v.version}</a>
                </th>
                <td data-label="Written">
                  <When at={v.createdAt} />
                </td>
                <td data-label="By">{v.updatedBy}</td>
                <td class="description" data-label="Description">{v.description}</td>
                <td class="compare-cell">
                  {v.version > 1 && (
                    <a href={href(`/configs/${name}/history`, { from: v.version - 1, to: v.version })} aria-label={`Changes in version ${v.version}`}>
                      changes
                    </a>
                  )}
                </td>
                {session.can('writer') && (
                  <td class="action-cell">
                    {v.version !== latest.version && (
                      <ConfirmButton
                        label={`Roll back to ${v.version}`}
                        confirmLabel={`Make version ${v.version} the latest`}
                        question={`Writes version ${latest.version + 1} equal to version ${v.version}, only if nobody wrote since this page loaded.`}
                        disabled={action.busy}
                        onConfirm={() => void rollback(v.version)}
                      />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
