import { api, ApiError, seg, type Answer } from '../api.js';
import { ActionOutcome, ConfirmButton, useAction } from '../components/action.js';
import { ClassLink, LabelChips } from '../components/class-link.js';
import { Breadcrumb, ConfigTabs } from '../components/config-tabs.js';
import { CopyButton } from '../components/copy-button.js';
import { PageTitle } from '../components/page-title.js';
import { ProblemMessage } from '../components/problem-message.js';
import { rollback as rollbackTo } from '../config-writes.js';
import { When } from '../format.js';
import { useLoad } from '../load.js';
import { href, navigate, type Location } from '../router.js';
import { session } from '../session.js';
import { useSession } from '../use-session.js';
import type { Alias, Config, ConfigDict, ConfigVersion, Page } from '../types.js';

interface Shown {
  missing?: false;
  latest: Answer<Config>;
  /** The version asked for with ?version=N (the latest when absent). */
  shown: ConfigVersion;
}

/** One config: its mappings per quant type, attributes, labels, who changed it, aliases, exports. */
export function ConfigPage({ params, where }: { params: Record<string, string>; where: Location }) {
  const name = params.name!;
  const asked = Number(where.query.get('version') ?? '') || undefined;
  const state = useSession();
  const loaded = useLoad(
    async (signal): Promise<Shown | { missing: true }> => {
      let latest: Answer<Config>;
      try {
        latest = await api<Config>(`/v1/configs/${seg(name)}`, { signal });
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return { missing: true };
        throw error;
      }
      if (asked === undefined || asked === latest.data.version) return { latest, shown: latest.data };
      const old = await api<ConfigVersion>(`/v1/configs/${seg(name)}/versions/${asked}`, { signal });
      return { latest, shown: old.data };
    },
    [name, asked, state.signedIn],
  );
  if (loaded.data?.missing) return <MissingConfig name={name} onRestored={loaded.reload} />;
  const data = loaded.data as Shown | undefined;
  return (
    <>
      <Breadcrumb name={name} />
      <PageTitle title={name}>
        {name}
        {data && (
          <span class="version-badge">
            version {data.shown.version}
            {data.shown.version === data.latest.data.version ? ' (latest)' : ` of ${data.latest.data.version}`}
          </span>
        )}
      </PageTitle>
      <ConfigTabs name={name} active="" />
      {loaded.error && <ProblemMessage error={loaded.error} onReload={loaded.reload} />}
      {loaded.loading && !data && <p class="loading">Loading…</p>}
      {data && <ConfigView name={name} data={data} reload={loaded.reload} />}
    </>
  );
}

function ConfigView({ name, data, reload }: { name: string; data: Shown; reload: () => void }) {
  const { latest, shown } = data;
  const isLatest = shown.version === latest.data.version;
  return (
    <>
      {!isLatest && (
        <p class="notice">
          You are looking at version {shown.version}. The latest is{' '}
          <a href={href(`/configs/${name}`)}>version {latest.data.version}</a>.
        </p>
      )}
      <dl class="facts">
        <dt>Description</dt>
        <dd>{shown.description || <span class="muted">none</span>}</dd>
        <dt>Labels</dt>
        <dd>
          <LabelChips labels={shown.labels} />
        </dd>
        <dt>Version</dt>
        <dd>
          {shown.version} · written <When at={shown.createdAt} /> by <strong>{shown.updatedBy}</strong>
        </dd>
        <dt>Created</dt>
        <dd>
          <When at={latest.data.createdAt} />
        </dd>
        <dt>Content hash</dt>
        <dd>
          <code class="hash">{shown.contentHash}</code>
        </dd>
      </dl>
      <Mappings config={shown.config} />
      <section aria-labelledby="attrs-h">
        <h2 id="attrs-h">Preserved attributes</h2>
        {(shown.config.preserved_attributes ?? []).length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul class="attributes">
            {shown.config.preserved_attributes!.map((attribute, i) => (
              <li key={i}>
                <code>{attribute}</code>
              </li>
            ))}
          </ul>
        )}
      </section>
      <AliasSummary name={name} />
      <Exports name={name} version={shown.version} config={shown.config} />
      <ConfigActions name={name} latest={latest} shown={shown} reload={reload} />
    </>
  );
}

/** The mappings as PyTorch reads them: per quant type, observed class -> quantized class. */
export function Mappings({ config }: { config: ConfigDict }) {
  const byType = Object.entries(config.observed_to_quantized_custom_module_class ?? {});
  return (
    <section aria-labelledby="mappings-h">
      <h2 id="mappings-h">Mappings</h2>
      {byType.length === 0 && <p class="muted">No mappings: convert_fx will swap no custom modules.</p>}
      {byType.map(([quantType, mapping]) => (
        <div class="table-scroll" key={quantType} tabIndex={0} role="region" aria-label={`${quantType} mappings`}>
          <table class="mappings stack">
            <caption>
              <code>{quantType}</code> ({Object.keys(mapping).length} {Object.keys(mapping).length === 1 ? 'mapping' : 'mappings'})
              {quantType === 'qat' && <span class="hint"> · convert_fx never consults qat entries</span>}
            </caption>
            <thead>
              <tr>
                <th scope="col">Observed class</th>
                <th scope="col" aria-hidden="true" class="arrow" />
                <th scope="col">Quantized class</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(mapping).map(([observed, quantized]) => (
                <tr key={observed}>
                  <td data-label="Observed">
                    <ClassLink id={observed} />
                  </td>
                  <td aria-hidden="true" class="arrow">
                    →
                  </td>
                  <td data-label="Quantized">
                    <ClassLink id={quantized} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

function AliasSummary({ name }: { name: string }) {
  const aliases = useLoad((signal) => api<Page<Alias>>(`/v1/configs/${seg(name)}/aliases`, { signal }).then((a) => a.data.items), [name]);
  return (
    <section aria-labelledby="aliases-h">
      <h2 id="aliases-h">Aliases</h2>
      {aliases.error && <p class="muted">Aliases could not be read: {aliases.error.problem.detail}</p>}
      {aliases.data && aliases.data.length === 0 && <p class="muted">No aliases point at this config.</p>}
      {aliases.data && aliases.data.length > 0 && (
        <ul class="alias-list">
          {aliases.data.map((a) => (
            <li key={a.alias}>
              <a href={href(`/configs/${name}/aliases/${a.alias}`)}>
                <strong>{a.alias}</strong>
              </a>{' '}
              → <a href={href(`/configs/${name}`, { version: a.version })}>version {a.version}</a>
              {a.protected && <span class="badge">protected</span>}
            </li>
          ))}
        </ul>
      )}
      <p>
        <a href={href(`/configs/${name}/aliases`)}>Manage aliases and see every move</a>
      </p>
    </section>
  );
}

function Exports({ name, version, config }: { name: string; version: number; config: ConfigDict }) {
  const python = useLoad(
    (signal) => api<string>(`/v1/configs/${seg(name)}/python?version=${version}`, { text: true, signal }).then((a) => a.data),
    [name, version],
  );
  const dict = JSON.stringify(config, null, 2);
  const needsToken = session.current.signedIn || (!session.current.open && !session.current.anonymousRead);
  const curl =
    `curl -s '${location.origin}/v1/configs/${name}/dict?version=${version}'` +
    (needsToken ? ` \\\n  -H "authorization: Bearer $REGISTRY_TOKEN"` : '');
  return (
    <section aria-labelledby="exports-h">
      <h2 id="exports-h">Use it</h2>
      <div class="export-buttons">
        <CopyButton text={python.data} label="Copy Python snippet" />
        <CopyButton text={curl} label="Copy curl command" />
        <CopyButton text={dict} label="Copy to_dict JSON" />
      </div>
      <details>
        <summary>Python snippet</summary>
        <pre class="code">{python.data ?? (python.error ? python.error.problem.detail : 'Loading…')}</pre>
      </details>
      <details>
        <summary>curl command</summary>
        <pre class="code">{curl}</pre>
      </details>
      <details>
        <summary>to_dict JSON</summary>
        <pre class="code">{dict}</pre>
      </details>
    </section>
  );
}

function ConfigActions({ name, latest, shown, reload }: { name: string; latest: Answer<Config>; shown: ConfigVersion; reload: () => void }) {
  const state = useSession();
  const action = useAction();
  if (!session.can('writer')) return null;
  const isLatest = shown.version === latest.data.version;
  const rollback = () =>
    action.run(async () => {
      const said = await rollbackTo(name, shown.version, latest.data.version);
      navigate(href(`/configs/${name}`), { replace: true });
      reload();
      return said;
    });
  const remove = () =>
    action.run(async () => {
      await api(`/v1/configs/${seg(name)}`, { method: 'DELETE', ifMatch: latest.etag });
      reload();
      return `Deleted ${name}. Its history is kept; undelete brings it back.`;
    });
  return (
    <section aria-labelledby="actions-h" class="actions-panel" data-role={state.role ?? ''}>
      <h2 id="actions-h">Actions</h2>
      <div class="action-row">
        {!isLatest && (
          <ConfirmButton
            label={`Roll back to version ${shown.version}`}
            confirmLabel={`Make version ${shown.version} the latest`}
            question={`A new version ${latest.data.version + 1} equal to version ${shown.version}, written over version ${latest.data.version} only if nobody wrote since you loaded this page.`}
            disabled={action.busy}
            onConfirm={rollback}
          />
        )}
        <ConfirmButton
          label="Delete config"
          confirmLabel={`Delete ${name}`}
          question="Soft delete: the history and aliases are kept, reads answer 404 until it is undeleted."
          disabled={action.busy}
          danger
          onConfirm={remove}
        />
      </div>
      <ActionOutcome action={action} onReload={() => (action.clear(), reload())} what={name} />
    </section>
  );
}

/** A name that answers 404: deleted (then writers may undelete it) or never there. */
function MissingConfig({ name, onRestored }: { name: string; onRestored: () => void }) {
  const action = useAction();
  const deleted = useLoad(
    (signal) =>
      api<Page<Config>>(`/v1/configs?prefix=${seg(name)}&showDeleted=true&pageSize=1`, { signal }).then((a) =>
        a.data.items.find((c) => c.name === name && c.deleted),
      ),
    [name, action.done],
  );
  const config = deleted.data;
  return (
    <>
      <Breadcrumb name={name} />
      <PageTitle title={name} />
      {deleted.loading && <p class="loading">Loading…</p>}
      {!deleted.loading && config === undefined && <p class="notice">There is no config named {name}.</p>}
      {config && (
        <>
          <p class="notice">
            {name} was deleted <When at={config.deletedAt ?? config.updatedAt} />. Its {config.version}{' '}
            {config.version === 1 ? 'version is' : 'versions are'} kept: <a href={href(`/configs/${name}/history`)}>see the history</a>.
          </p>
          {session.can('writer') && (
            <div class="action-row">
              <button
                type="button"
                disabled={action.busy}
                onClick={() =>
                  action.run(async () => {
                    await api(`/v1/configs/${seg(name)}/undelete`, { method: 'POST', ifMatch: `"${config.version}"` });
                    onRestored();
                    return `Restored ${name}.`;
                  })
                }
              >
                Undelete {name}
              </button>
            </div>
          )}
          <ActionOutcome action={action} onReload={() => (action.clear(), deleted.reload())} what={name} />
        </>
      )}
    </>
  );
}
