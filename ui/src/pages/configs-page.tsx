import { useState } from 'preact/hooks';
import { api, listAll } from '../api.js';
import { LabelChips } from '../components/class-link.js';
import { ProblemMessage } from '../components/problem-message.js';
import { When } from '../format.js';
import { useLoad } from '../load.js';
import { href, navigate, type Location } from '../router.js';
import type { Config, ModuleClass, Page } from '../types.js';
import { PageTitle } from '../components/page-title.js';

const PAGE_SIZES = ['25', '50', '100', '250'];

/**
 * Every config, filtered by name prefix, labels (ANDed), a module class they use, and deleted
 * ones on request. Paging follows the API's opaque page tokens (keyset paging on the server), so
 * the hundredth page costs what the first does; the token is in the URL like every filter.
 */
export function ConfigsPage({ where }: { where: Location }) {
  const q = where.query;
  const filters = {
    prefix: q.get('prefix') ?? '',
    label: q.getAll('label'),
    usesClass: q.get('usesClass') ?? '',
    showDeleted: q.get('showDeleted') === 'true',
    pageSize: PAGE_SIZES.includes(q.get('pageSize') ?? '') ? q.get('pageSize')! : '50',
  };
  const pageToken = q.get('pageToken') ?? undefined;
  const list = useLoad(
    (signal) => {
      const search = new URLSearchParams();
      if (filters.prefix) search.set('prefix', filters.prefix);
      for (const label of filters.label) search.append('label', label);
      if (filters.usesClass) search.set('usesClass', filters.usesClass);
      if (filters.showDeleted) search.set('showDeleted', 'true');
      search.set('pageSize', filters.pageSize);
      if (pageToken) search.set('pageToken', pageToken);
      return api<Page<Config>>(`/v1/configs?${search}`, { signal }).then((a) => a.data);
    },
    [q.toString()],
  );
  const filtered = filters.prefix !== '' || filters.label.length > 0 || filters.usesClass !== '' || filters.showDeleted;
  return (
    <>
      <PageTitle title="Configs" />
      <Filters key={q.toString()} initial={filters} />
      {list.error && <ProblemMessage error={list.error} onReload={list.reload} />}
      {list.data && (
        <>
          {list.data.items.length === 0 ? (
            <p class="empty">{filtered ? 'No config matches these filters.' : 'No configs yet: PUT one at /v1/configs/{name}.'}</p>
          ) : (
            <ConfigTable configs={list.data.items} />
          )}
          <nav class="pager" aria-label="Pages">
            {pageToken && <a href={href('/configs', { ...filters, pageSize: filters.pageSize })}>First page</a>}
            {list.data.nextPageToken && (
              <a rel="next" href={href('/configs', { ...filters, pageToken: list.data.nextPageToken })}>
                Next page
              </a>
            )}
          </nav>
        </>
      )}
      {list.loading && !list.data && <p class="loading">Loading…</p>}
    </>
  );
}

function ConfigTable({ configs }: { configs: Config[] }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Configs">
      <table class="configs stack">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">Labels</th>
            <th scope="col">Description</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {configs.map((config) => (
            <tr key={config.name} class={config.deleted ? 'deleted' : undefined}>
              <th scope="row">
                <a href={href(`/configs/${config.name}`)}>{config.name}</a>
                {config.deleted && <span class="badge badge-deleted">deleted</span>}
              </th>
              <td data-label="Version">{config.version}</td>
              <td data-label="Labels">
                <LabelChips labels={config.labels} />
              </td>
              <td class="description" data-label="Description">{config.description}</td>
              <td data-label="Last change">
                <When at={config.deletedAt ?? config.updatedAt} /> by {config.updatedBy}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface FilterValues {
  prefix: string;
  label: string[];
  usesClass: string;
  showDeleted: boolean;
  pageSize: string;
}

function Filters({ initial }: { initial: FilterValues }) {
  const [values, setValues] = useState(initial);
  const [newLabel, setNewLabel] = useState('');
  const classes = useLoad(() => listAll<ModuleClass>('/v1/module-classes', 1000), []);
  function apply(next: FilterValues) {
    navigate(href('/configs', { ...next }));
  }
  function submit(event: Event) {
    event.preventDefault();
    const label = newLabel.trim();
    apply({ ...values, label: label === '' || values.label.includes(label) ? values.label : [...values.label, label] });
  }
  return (
    <form class="filters" role="search" aria-label="Filter configs" onSubmit={submit}>
      <div class="field">
        <label for="f-prefix">Name starts with</label>
        <input
          id="f-prefix"
          type="search"
          value={values.prefix}
          pattern="[a-z0-9._\-]*"
          title="Lowercase letters, digits, . _ -"
          onInput={(e) => setValues({ ...values, prefix: (e.target as HTMLInputElement).value })}
        />
      </div>
      <div class="field">
        <label for="f-label">Label</label>
        <input
          id="f-label"
          placeholder="key:value"
          value={newLabel}
          pattern="[a-z][a-z0-9_.\-]*:.*"
          title="key:value, e.g. team:vision"
          aria-describedby="f-label-help"
          onInput={(e) => setNewLabel((e.target as HTMLInputElement).value)}
        />
        <span id="f-label-help" class="hint">
          key:value; several are ANDed
        </span>
      </div>
      <div class="field">
        <label for="f-class">Uses module class</label>
        <input
          id="f-class"
          list="f-class-options"
          value={values.usesClass}
          placeholder="torch.ao.nn.quantized.LSTM"
          onInput={(e) => setValues({ ...values, usesClass: (e.target as HTMLInputElement).value })}
        />
        <datalist id="f-class-options">
          {(classes.data ?? []).map((c) => (
            <option key={c.id} value={c.id} />
          ))}
        </datalist>
      </div>
      <div class="field">
        <label for="f-size">Per page</label>
        <select id="f-size" value={values.pageSize} onChange={(e) => setValues({ ...values, pageSize: (e.target as HTMLSelectElement).value })}>
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
      </div>
      <div class="field checkbox">
        <input
          id="f-deleted"
          type="checkbox"
          checked={values.showDeleted}
          onChange={(e) => setValues({ ...values, showDeleted: (e.target as HTMLInputElement).checked })}
        />
        <label for="f-deleted">Show deleted</label>
      </div>
      <div class="field actions">
        <button type="submit">Apply</button>
      </div>
      {values.label.length > 0 && (
        <ul class="chips active-filters" aria-label="Label filters">
          {values.label.map((label) => (
            <li key={label}>
              <span class="chip">
                {label}
                <button
                  type="button"
                  class="chip-remove"
                  aria-label={`Remove label filter ${label}`}
                  onClick={() => apply({ ...values, label: values.label.filter((l) => l !== label) })}
                >
                  ×
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
