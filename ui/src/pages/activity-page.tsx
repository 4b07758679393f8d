import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { PageTitle } from '../components/page-title.js';
import { ProblemMessage } from '../components/problem-message.js';
import { follow, recentEvents } from '../feed.js';
import { When } from '../format.js';
import { href, navigate, type Location } from '../router.js';
import type { RegistryEvent } from '../types.js';
import { useSession } from '../use-session.js';

const TYPES = [
  'config.version_created',
  'config.deleted',
  'config.undeleted',
  'config.purged',
  'alias.set',
  'alias.deleted',
  'module_class.created',
  'module_class.updated',
  'module_class.deleted',
];
const SHOWN = 200;

type LiveState = 'connecting' | 'live' | 'polling' | 'retrying';

/** The change feed, newest first, updated as changes are committed (no reload). */
export function ActivityPage({ where }: { where: Location }) {
  const name = where.query.get('name') ?? '';
  const types = where.query.getAll('type').filter((t) => TYPES.includes(t));
  const state = useSession();
  const [events, setEvents] = useState<RegistryEvent[]>([]);
  const [live, setLive] = useState<{ state: LiveState; detail?: string | undefined }>({ state: 'connecting' });
  const [error, setError] = useState<ApiError>();
  const [fresh, setFresh] = useState(0);
  const key = `${name}|${types.join(',')}|${state.signedIn}`;
  useEffect(() => {
    const controller = new AbortController();
    const filter = { ...(name ? { name } : {}), types };
    setEvents([]);
    setError(undefined);
    setFresh(0);
    recentEvents(filter, 50, controller.signal).then(
      ({ items, lastRevision }) => {
        setEvents(items.slice().reverse());
        void follow(
          filter,
          lastRevision,
          {
            onEvents: (more) => {
              setEvents((old) => [...more.slice().reverse(), ...old.filter((e) => !more.some((m) => m.revision === e.revision))].slice(0, SHOWN));
              setFresh((n) => n + more.length);
            },
            onState: (s, detail) => setLive({ state: s, detail }),
          },
          controller.signal,
        );
      },
      (e: unknown) => {
        if ((e as Error).name !== 'AbortError') setError(e instanceof ApiError ? e : new ApiError({ title: 'Error', status: 0, detail: String(e) }));
      },
    );
    return () => controller.abort();
  }, [key]);
  const [nameInput, setNameInput] = useState(name);
  const [typeInput, setTypeInput] = useState(types[0] ?? '');
  return (
    <>
      <PageTitle title="Activity" />
      <p class="lead">Every change to the registry, newest first, as it is committed.</p>
      <form
        class="filters"
        role="search"
        aria-label="Filter activity"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href('/activity', { name: nameInput.trim(), type: typeInput }));
        }}
      >
        <div class="field">
          <label for="a-name">Config</label>
          <input id="a-name" value={nameInput} placeholder="resnet50-int8" onInput={(e) => setNameInput((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="a-type">Kind of change</label>
          <select id="a-type" value={typeInput} onChange={(e) => setTypeInput((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field actions">
          <button type="submit">Apply</button>
        </div>
      </form>
      <p class={`live live-${live.state}`} role="status">
        {live.state === 'live'
          ? 'Live: new changes appear here as they happen.'
          : live.state === 'polling'
            ? 'Live (long polling): new changes appear within seconds.'
            : live.state === 'retrying'
              ? `Reconnecting… ${live.detail ?? ''}`
              : 'Connecting…'}
        {fresh > 0 && ` ${fresh} new since you opened this page.`}
      </p>
      {error && <ProblemMessage error={error} />}
      {!error && events.length === 0 && live.state !== 'connecting' && <p class="empty">No changes yet.</p>}
      {events.length > 0 && (
        <ol class="events" aria-label="Changes, newest first">
          {events.map((e) => (
            <li key={e.revision} class={`event event-${e.type.split('.')[0]}`}>
              <span class="revision" title="Registry revision">
                #{e.revision}
              </span>
              <span class="event-type">{e.type}</span>
              <span class="event-what">
                <EventSubject event={e} />
              </span>
              <span class="event-who">
                by {e.by}, <When at={e.at} />
              </span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

function EventSubject({ event }: { event: RegistryEvent }) {
  if (event.classId !== undefined) {
    return <a href={href(`/module-classes/${encodeURIComponent(event.classId)}`)}>{event.classId}</a>;
  }
  if (event.name === undefined) return null;
  const config = event.type === 'config.purged' ? <span>{event.name}</span> : <a href={href(`/configs/${event.name}`)}>{event.name}</a>;
  if (event.alias !== undefined) {
    return (
      <>
        {config} alias <a href={href(`/configs/${event.name}/aliases/${event.alias}`)}>{event.alias}</a>
        {event.version !== undefined && event.version !== null && <> → version {event.version}</>}
      </>
    );
  }
  return (
    <>
      {config}
      {event.version !== undefined && (
        <>
          {' '}
          <a href={href(`/configs/${event.name}`, { version: event.version })}>version {event.version}</a>
        </>
      )}
    </>
  );
}
