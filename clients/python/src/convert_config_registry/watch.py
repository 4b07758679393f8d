"""Long-running readers: the change feed, and watching one config (or what an alias names).

Both long-poll (the registry holds a request until something changes, so a change arrives at
once and an idle watcher costs one request per ``wait`` seconds), and both outlive the registry
going away: a refused or dropped connection, a 5xx from the service or a proxy in front of it,
or a 429, is logged and retried with backoff for as long as it takes, and the watcher resumes
from what it has seen (the version it holds, the revision it reached), so a restart loses nothing.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, Deque, Dict, Iterator, Optional, Sequence

from .errors import RegistryError
from .models import Config, Event
from .transport import Response, Transport, segment

logger = logging.getLogger("convert_config_registry")

#: How long to sleep between polls when the registry (or a proxy) answers at once instead of
#: holding the request.
POLL_INTERVAL = 5.0


def _survivable(error: RegistryError) -> bool:
    return error.status is None or error.status == 429 or error.status >= 500


class _Reconnecting:
    """Sends one long-poll request until it gets an answer, backing off while the registry is away."""

    def __init__(self, transport: Transport, what: str) -> None:
        self.transport = transport
        self.what = what
        self.failures = 0

    def send(self, url: str, headers: Dict[str, str], wait: float) -> Response:
        while True:
            try:
                response = self.transport.send_once("GET", url, headers=headers, timeout=wait + self.transport.timeout)
            except RegistryError as error:
                if not _survivable(error):
                    raise
                pause = error.retry_after if error.retry_after is not None else self.transport.delay(self.failures)
                pause = min(pause, self.transport.max_retry_after)
                self.failures += 1
                logger.warning("%s: %s; reconnecting in %.1f s", self.what, error.detail if error.status is None else f"{error.status} {error.title}", pause)
                self.transport.sleep(pause)
                continue
            if self.failures:
                logger.info("%s: reconnected", self.what)
            self.failures = 0
            return response


class ConfigWatch(Iterator[Any]):
    """Yields a config each time a new version lands (or the alias moves): a
    ``ConvertCustomConfig``, or the :class:`Config` resource with ``load=False``.

    The first item is the current version, unless ``after_version`` says you hold it already.
    Intermediate versions superseded before the watcher looked are skipped: it yields what is
    current. :attr:`current` is the resource last yielded. Deleting the config (or the alias)
    ends the watch with :class:`NotFoundError`.
    """

    def __init__(
        self,
        transport: Transport,
        name: str,
        alias: Optional[str],
        after_version: Optional[int],
        load: bool,
        wait: int,
    ) -> None:
        if not 1 <= wait <= 60:
            raise ValueError("wait must be 1..60 seconds")
        self._transport = transport
        self._url = transport.url(f"/v1/configs/{segment(name)}", {"alias": alias})
        self._etag = None if after_version is None else f'"{int(after_version)}"'
        self._load = load
        self._wait = wait
        self._link = _Reconnecting(transport, f"watching {name}" + (f" ({alias})" if alias else ""))
        self._closed = False
        self.current: Optional[Config] = None

    def __iter__(self) -> "ConfigWatch":
        return self

    def __next__(self) -> Any:
        while not self._closed:
            headers = {"Prefer": f"wait={self._wait}"}
            if self._etag is not None:
                headers["If-None-Match"] = self._etag
            started = time.monotonic()
            response = self._link.send(self._url, headers, self._wait)
            if response.status == 304:
                if "Preference-Applied" not in response.headers and time.monotonic() - started < self._wait / 2:
                    self._transport.sleep(POLL_INTERVAL)
                continue
            resource = Config.from_json(response.json())
            if self._etag == resource.etag:
                continue
            self._etag = resource.etag
            self.current = resource
            return resource.convert_custom_config() if self._load else resource
        raise StopIteration

    def close(self) -> None:
        """Ends the watch: the next ``next()`` stops the iteration."""
        self._closed = True


class EventFeed(Iterator[Event]):
    """The registry's change feed from ``after``, oldest first.

    Without ``follow`` it stops when it has caught up; with ``follow`` it waits for new events
    forever. :attr:`last_revision` is where to resume from (persist it, pass it as ``after``):
    the revision of the event last yielded, or further on when filtered-out events were passed.
    """

    def __init__(
        self,
        transport: Transport,
        after: int,
        name: Optional[str],
        types: Optional[Sequence[str]],
        follow: bool,
        wait: int,
        limit: int,
    ) -> None:
        if follow and not 1 <= wait <= 60:
            raise ValueError("wait must be 1..60 seconds")
        self._transport = transport
        self._query: Dict[str, Any] = {"name": name, "type": list(types) if types else None, "limit": limit}
        self._follow = follow
        self._wait = wait
        self._limit = limit
        self._cursor = after
        self._buffer: Deque[Event] = deque()
        self._caught_up = False
        self._link = _Reconnecting(transport, "following the change feed")
        self.last_revision = after

    def __iter__(self) -> "EventFeed":
        return self

    def __next__(self) -> Event:
        while not self._buffer:
            self.last_revision = self._cursor
            if self._caught_up:
                raise StopIteration
            self._fetch()
        event = self._buffer.popleft()
        self.last_revision = event.revision
        return event

    def _fetch(self) -> None:
        query = {**self._query, "after": self._cursor}
        if self._follow:
            response = self._link.send(self._transport.url("/v1/events", {**query, "wait": self._wait}), {}, self._wait)
        else:
            response = self._transport.request("GET", "/v1/events", query, safe=True)
        page = response.json()
        items = [Event.from_json(item) for item in page.get("items") or []]
        self._buffer.extend(items)
        newest = items[-1].revision if items else self._cursor
        # A full page may stop short of lastRevision: continue from its last item, skipping nothing.
        full = len(items) >= self._limit
        self._cursor = newest if full else max(newest, int(page.get("lastRevision", newest)))
        if not self._follow and not full:
            self._caught_up = True
