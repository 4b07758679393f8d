"""HTTP to the registry: one request, its problem answer as an exception, and the retries.

Built on urllib (standard library only, and it honours the usual ``HTTPS_PROXY``/``NO_PROXY``).

Which requests are repeated, and when. The registry answers 429 from its rate limiter before any
route runs, and a refused connection never reached it, so after either of those every request is
repeated. After a 503 (or a proxy's 502/504), a timeout or a connection lost mid-request the first attempt may have been
applied, so only requests whose repeat cannot apply anything twice are repeated (``safe=True``):
reads, validation, dry runs, and writes carrying a precondition (``If-Match``/``If-None-Match:
*``): the registry applies those at most once, a repeat of one that had committed is answered 412
(marked ``after_retry`` for the caller to recognise its own write). A write without a
precondition is never repeated after an ambiguous failure: a repeat would land on top of whatever
another client wrote meanwhile, undoing it after it was acknowledged.
"""

from __future__ import annotations

import email.utils
import errno
import json
import logging
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

from .errors import RegistryConnectionError, RegistryError, error_for_status

logger = logging.getLogger("convert_config_registry")

#: What a query parameter may be: a value, or several (repeated, e.g. ``label``).
QueryValue = Union[None, str, int, bool, Sequence[str]]


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def etag(self) -> Optional[str]:
        return self.headers.get("ETag")


def segment(value: str) -> str:
    """One path segment, percent-encoded (config names, identifiers, aliases)."""
    return urllib.parse.quote(str(value), safe="")


def query_string(query: Optional[Mapping[str, QueryValue]]) -> str:
    pairs = []
    for key, value in (query or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, (list, tuple)):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Retry-After as seconds to wait: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _problem_of(status: int, reason: str, raw: bytes) -> Dict[str, Any]:
    try:
        problem = json.loads(raw.decode("utf-8"))
        if isinstance(problem, dict):
            return problem
    except ValueError:
        pass
    # A proxy or load balancer in front of the registry may answer with HTML or nothing.
    text = raw.decode("utf-8", "replace").strip()
    return {"status": status, "title": reason or f"HTTP {status}", "detail": text[:500] or reason or f"HTTP {status}"}


def _never_sent(error: BaseException) -> bool:
    """True when the request cannot have reached the registry (the connection was refused)."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError) or getattr(reason, "errno", None) == errno.ECONNREFUSED


class Transport:
    """Sends requests to one registry with a token, a timeout and a retry budget."""

    def __init__(
        self,
        base_url: str,
        token: Optional[str],
        timeout: float,
        retries: int,
        backoff: float,
        max_backoff: float,
        max_retry_after: float,
        user_agent: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"registry URL must be http(s)://host[:port][/path], not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.user_agent = user_agent
        self.sleep = sleep
        # Redirects would resend a token to wherever they point; the registry never redirects.
        self._opener = urllib.request.build_opener(_NoRedirect)

    def url(self, path: str, query: Optional[Mapping[str, QueryValue]] = None) -> str:
        return self.base_url + path + query_string(query)

    def delay(self, attempt: int) -> float:
        """Exponential backoff, jittered so that clients a restart cut off together do not come
        back together: between half and all of ``min(max_backoff, backoff * 2**attempt)``."""
        ceiling = min(self.max_backoff, self.backoff * (2 ** min(attempt, 30)))
        return random.uniform(ceiling / 2, ceiling)

    def send_once(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        content_type: str = "application/json",
    ) -> Response:
        """One attempt. An error answer raises its RegistryError; no answer, RegistryConnectionError."""
        all_headers = {"Accept": "application/json, application/problem+json", "User-Agent": self.user_agent}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with self._opener.open(request, timeout=self.timeout if timeout is None else timeout) as answer:
                return Response(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as answer:
            raw = answer.read()
            if answer.code == 304:
                return Response(304, answer.headers, raw)
            retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            raise error_for_status(method, url, answer.code, _problem_of(answer.code, answer.reason, raw), retry_after) from None
        except urllib.error.URLError as error:
            raise _connection_error(method, url, error) from error
        except (OSError, socket.timeout) as error:  # reset, timed out, closed mid-answer
            raise _connection_error(method, url, error) from error

    def request(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, QueryValue]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        safe: bool = False,
        timeout: Optional[float] = None,
        content_type: str = "application/json",
    ) -> Response:
        """Sends with retries (see the module's doc for which); raises the last error."""
        url = self.url(path, query)
        ambiguous = False
        attempt = 0
        while True:
            try:
                return self.send_once(method, url, body, headers, timeout, content_type)
            except RegistryError as error:
                error.after_retry = ambiguous
                wait = self._retry_wait(error, attempt, safe)
                if wait is None:
                    raise
                ambiguous = ambiguous or not (error.status == 429 or (error.status is None and _never_sent(error.__cause__ or error)))
                attempt += 1
                logger.warning("%s %s: %s; retrying in %.1f s (retry %d of %d)", method, path, _short(error), wait, attempt, self.retries)
                self.sleep(wait)

    def _retry_wait(self, error: RegistryError, attempt: int, safe: bool) -> Optional[float]:
        """Seconds to wait before repeating after ``error``, or None to raise it."""
        if attempt >= self.retries:
            return None
        if error.status == 429:
            pass
        elif error.status is None:
            if not (safe or _never_sent(error.__cause__ or error)):
                return None
        elif error.status not in (502, 503, 504) or not safe:
            return None  # 502/504: a proxy in front (nginx) while a replica restarts
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        return self.delay(attempt)


def _short(error: RegistryError) -> str:
    return f"{error.status} {error.title}" if error.status else error.detail


def _connection_error(method: str, url: str, error: BaseException) -> RegistryConnectionError:
    reason = getattr(error, "reason", error)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        text = "timed out waiting for the registry"
    else:
        text = f"cannot reach the registry: {reason}"
    failure = RegistryConnectionError(method, url, text)
    failure.__cause__ = error
    return failure


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None

