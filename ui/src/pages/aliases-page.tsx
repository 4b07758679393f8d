import { useState } from 'preact/hooks';
import { api, listAll, seg } from '../api.js';
import { ActionOutcome, ConfirmButton, useAction } from '../components/action.js';
import { Breadcrumb, ConfigTabs } from '../components/config-tabs.js';
import { PageTitle } from '../components/page-title.js';
import { ProblemMessage } from '../components/problem-message.js';
import { When } from '../format.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import { session } from '../session.js';
import type { Alias, AliasMove, ConfigVersion, Page } from '../types.js';
import { useSession } from '../use-session.js';

const ALIAS_PATTERN = '[a-z][a-z0-9_\\-]{0,62}';

/** Where each alias points, and for writers the form that sets or moves one (protected: admins). */
export function AliasesPage({ params }: { params: Record<string, string> }) {
  const name = params.name!;
  useSession();
  const aliases = useLoad((signal) => api<Page<Alias>>(`/v1/configs/${seg(name)}/aliases`, { signal }).then((a) => a.data.items), [name]);
  const versions = useLoad(() => listAll<ConfigVersion>(`/v1/configs/${seg(name)}/versions`), [name]);
  const action = useAction();
  const remove = (alias: Alias) =>
    action.run(async () => {
      await api(`/v1/configs/${seg(name)}/aliases/${seg(alias.alias)}`, { method: 'DELETE', ifMatch: `"${alias.moves}"` });
      aliases.reload();
      return `Deleted alias ${alias.alias} (its history is kept).`;
    });
  return (
    <>
      <Breadcrumb name={name} />
      <PageTitle title={`${name}: aliases`}>Aliases of {name}</PageTitle>
      <ConfigTabs name={name} active="/aliases" />
      {aliases.error && <ProblemMessage error={aliases.error} onReload={aliases.reload} />}
      <ActionOutcome action={action} onReload={() => (action.clear(), aliases.reload())} what="this alias" />
      {aliases.data && aliases.data.length === 0 && <p class="empty">No aliases yet.</p>}
      {aliases.data && aliases.data.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Aliases">
          <table class="aliases stack">
            <thead>
              <tr>
                <th scope="col">Alias</th>
                <th scope="col">Version</th>
                <th scope="col">Moves</th>
                <th scope="col">Last moved</th>
                {session.can('writer') && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {aliases.data.map((a) => (
                <tr key={a.alias}>
                  <th scope="row">
                    <a href={href(`/configs/${name}/aliases/${a.alias}`)}>{a.alias}</a>
                    {a.protected && <span class="badge">protected</span>}
                  </th>
                  <td data-label="Points at">
                    <a href={href(`/configs/${name}`, { version: a.version })}>version {a.version}</a>
                  </td>
                  <td data-label="Moves">{a.moves}</td>
                  <td data-label="Last moved">
                    <When at={a.updatedAt} /> by {a.updatedBy}
                  </td>
                  {session.can('writer') && (
                    <td class="action-cell">
                      {(!a.protected || session.can('admin')) && (
                        <ConfirmButton
                          label={`Delete ${a.alias}`}
                          confirmLabel={`Delete alias ${a.alias}`}
                          question="Jobs asking for this alias will get a 404; its history is kept."
                          danger
                          disabled={action.busy}
                          onConfirm={() => void remove(a)}
                        />
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {session.can('writer') && aliases.data && versions.data && (
        <SetAliasForm name={name} aliases={aliases.data} versions={versions.data} onSet={aliases.reload} />
      )}
    </>
  );
}

function SetAliasForm({ name, aliases, versions, onSet }: { name: string; aliases: Alias[]; versions: ConfigVersion[]; onSet: () => void }) {
  const admin = session.can('admin');
  const movable = aliases.filter((a) => admin || !a.protected);
  const [alias, setAlias] = useState(movable[0]?.alias ?? 'production');
  const existing = aliases.find((a) => a.alias === alias);
  const [version, setVersion] = useState(versions[0]?.version ?? 1);
  const [protect, setProtect] = useState<boolean | null>(null);
  const isProtected = protect ?? existing?.protected ?? false;
  const action = useAction();
  function submit(event: Event) {
    event.preventDefault();
    void action.run(async () => {
      const answer = await api<Alias>(`/v1/configs/${seg(name)}/aliases/${seg(alias)}`, {
        method: 'PUT',
        body: admin ? { version, protected: isProtected } : { version },
        // Moving: only over the move this page showed. Creating: only if nobody created it meanwhile.
        ...(existing ? { ifMatch: `"${existing.moves}"` } : { ifNoneMatch: '*' }),
      });
      onSet();
      return answer.status === 201
        ? `Created ${alias} → version ${version}.`
        : existing && existing.version === version && existing.protected === isProtected
          ? `${alias} already points at version ${version}.`
          : `Moved ${alias} to version ${version}.`;
    });
  }
  return (
    <section aria-labelledby="set-alias-h">
      <h2 id="set-alias-h">Set or move an alias</h2>
      <form class="set-alias" onSubmit={submit}>
        <div class="field">
          <label for="alias-name">Alias</label>
          <input
            id="alias-name"
            list="alias-options"
            required
            pattern={ALIAS_PATTERN}
            title="Lowercase letters, digits, _ and -, starting with a letter"
            value={alias}
            onInput={(e) => {
              setAlias((e.target as HTMLInputElement).value);
              setProtect(null);
            }}
          />
          <datalist id="alias-options">
            {movable.map((a) => (
              <option key={a.alias} value={a.alias} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="alias-version">Version</label>
          <select id="alias-version" value={version} onChange={(e) => setVersion(Number((e.target as HTMLSelectElement).value))}>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                {`Version ${v.version}${v.description ? ` · ${v.description.slice(0, 40)}` : ''}`}
              </option>
            ))}
          </select>
        </div>
        {admin && (
          <div class="field checkbox">
            <input id="alias-protected" type="checkbox" checked={isProtected} onChange={(e) => setProtect((e.target as HTMLInputElement).checked)} />
            <label for="alias-protected">Protected (only admins may move it)</label>
          </div>
        )}
        <div class="field actions">
          <button type="submit" class="primary" disabled={action.busy}>
            {existing ? `Move ${alias}` : `Create ${alias || 'alias'}`}
          </button>
        </div>
      </form>
      {existing?.protected && !admin && <p class="hint">{alias} is protected: only an admin may move it.</p>}
      <ActionOutcome action={action} onReload={() => (action.clear(), onSet())} what={`alias ${alias}`} />
    </section>
  );
}

/** Every move of one alias, newest first: who, when, from which version to which. */
export function AliasHistoryPage({ params }: { params: Record<string, string> }) {
  const name = params.name!;
  const alias = params.alias!;
  const current = useLoad((signal) => api<Alias>(`/v1/configs/${seg(name)}/aliases/${seg(alias)}`, { signal }).then((a) => a.data), [name, alias]);
  const moves = useLoad(() => listAll<AliasMove>(`/v1/configs/${seg(name)}/aliases/${seg(alias)}/history`), [name, alias]);
  return (
    <>
      <Breadcrumb name={name} />
      <PageTitle title={`${name}: ${alias}`}>
        {alias} <span class="version-badge">alias of {name}</span>
      </PageTitle>
      <ConfigTabs name={name} active="/aliases" />
      {current.data && (
        <p>
          <strong>{alias}</strong> points at{' '}
          <a href={href(`/configs/${name}`, { version: current.data.version })}>version {current.data.version}</a>
          {current.data.protected && <span class="badge">protected</span>}
        </p>
      )}
      {current.error?.status === 404 && <p class="notice">{alias} does not point anywhere now{moves.data?.length ? ' (deleted); its moves are kept below' : ''}.</p>}
      {moves.error && <ProblemMessage error={moves.error} onReload={moves.reload} />}
      {moves.data && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label={`Moves of ${alias}`}>
          <table class="moves stack">
            <caption>Every move, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
              </tr>
            </thead>
            <tbody>
              {moves.data.map((m, i) => (
                <tr key={i}>
                  <td data-label="When">
                    <When at={m.movedAt} />
                  </td>
                  <td data-label="Who">{m.movedBy}</td>
                  <td data-label="From">{m.previousVersion === null ? <span class="muted">(new)</span> : <VersionLink name={name} version={m.previousVersion} />}</td>
                  <td data-label="To">
                    {m.version === null ? <span class="muted">(deleted)</span> : <VersionLink name={name} version={m.version} />}
                    {m.protected && <span class="badge">protected</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function VersionLink({ name, version }: { name: string; version: number }) {
  return <a href={href(`/configs/${name}`, { version })}>version {version}</a>;
}
