"""Retries, backoff, Retry-After, and what is never repeated.

The registry's own answers cannot be made to fail on cue, so most of these run against a small
scripted HTTP server; the lost-answer tests put a proxy that swallows one answer between the
client and the live registry, so the write really lands and the client never hears of it.
"""

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Tuple

import pytest

from convert_config_registry import (
    ConflictError,
    PreconditionFailedError,
    RateLimitedError,
    Registry,
    RegistryConnectionError,
    RegistryError,
    ServiceUnavailableError,
)
from convert_config_registry.transport import parse_retry_after

Answer = Tuple[int, Dict[str, str], bytes]
CONFIG = {
    "name": "x",
    "version": 1,
    "description": "",
    "labels": {},
    "config": {"preserved_attributes": ["a"]},
    "contentHash": "sha256:" + "0" * 64,
    "createdAt": "2026-01-01T00:00:00.000Z",
    "updatedAt": "2026-01-01T00:00:00.000Z",
    "updatedBy": "anonymous",
}


def problem(status: int, headers: Dict[str, str] = None) -> Answer:
    body = {"type": "about:blank", "title": "Service unavailable" if status == 503 else "Too many requests", "status": status, "detail": "try later"}
    return status, {"Content-Type": "application/problem+json", **(headers or {})}, json.dumps(body).encode()


def ok(body: dict = CONFIG) -> Answer:
    return 200, {"Content-Type": "application/json", "ETag": f'"{body.get("version", 1)}"'}, json.dumps(body).encode()


class Scripted:
    """An HTTP server answering each request with the next scripted answer; records requests."""

    def __init__(self, answers: List[Answer]) -> None:
        self.answers = list(answers)
        self.requests: List[Tuple[str, str, Dict[str, str]]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                scripted.requests.append((self.command, self.path, dict(self.headers)))
                status, headers, body = scripted.answers.pop(0) if scripted.answers else ok()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(*answers: Answer) -> Scripted:
        servers.append(Scripted(list(answers)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def client(url: str, **options) -> Tuple[Registry, List[float]]:
    """A Registry whose backoff sleeps are recorded instead of slept."""
    registry = Registry(url, token="s3cret-token", **options)
    slept: List[float] = []
    registry._http.sleep = slept.append
    return registry, slept


def test_a_read_is_repeated_after_503_honouring_retry_after(scripted, caplog):
    server = scripted(problem(503, {"Retry-After": "2"}), problem(503, {"Retry-After": "1"}), ok())
    registry, slept = client(server.url)
    with caplog.at_level(logging.WARNING, logger="convert_config_registry"):
        assert registry.get("x").version == 1
    assert slept == [2.0, 1.0]
    assert len(server.requests) == 3
    assert "503 Service unavailable; retrying in 2.0 s (retry 1 of 3)" in caplog.text
    assert "s3cret-token" not in caplog.text
    assert all(headers["Authorization"] == "Bearer s3cret-token" for _, _, headers in server.requests)


def test_without_retry_after_the_backoff_grows_and_the_last_error_is_raised(scripted):
    server = scripted(*[problem(503)] * 4)
    registry, slept = client(server.url, retries=3, backoff=0.5, max_backoff=1.5)
    with pytest.raises(ServiceUnavailableError) as raised:
        registry.get("x")
    assert len(server.requests) == 4
    assert len(slept) == 3
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0 and 0.75 <= slept[2] <= 1.5
    assert raised.value.status == 503 and raised.value.detail == "try later"


def test_a_retry_after_beyond_the_limit_is_raised_at_once(scripted):
    server = scripted(problem(429, {"Retry-After": "120"}))
    registry, slept = client(server.url, max_retry_after=60)
    with pytest.raises(RateLimitedError) as raised:
        registry.get("x")
    assert raised.value.retry_after == 120.0
    assert slept == [] and len(server.requests) == 1


def test_a_429_is_repeated_for_any_request(scripted):
    """The rate limiter answers before any route runs, so nothing was applied."""
    server = scripted(problem(429, {"Retry-After": "1"}), (204, {}, b""))
    registry, slept = client(server.url)
    registry.delete("x")
    assert [r[0] for r in server.requests] == ["DELETE", "DELETE"]
    assert slept == [1.0]


def test_a_write_without_a_precondition_is_not_repeated_after_503(scripted):
    """A 503 may come after the write committed (a handler deadline, a lost commit answer)."""
    server = scripted(problem(503, {"Retry-After": "1"}))
    registry, slept = client(server.url)
    with pytest.raises(ServiceUnavailableError):
        registry.delete("x")
    with pytest.raises(ServiceUnavailableError):
        server.answers.append(problem(503, {"Retry-After": "1"}))
        registry.register_class("my_pkg.quantized.CustomLinear", from_observed=True)
    assert [r[0] for r in server.requests] == ["DELETE", "POST"]
    assert slept == []


def test_a_conditional_write_is_repeated_after_503(scripted):
    server = scripted(ok(), problem(503, {"Retry-After": "0"}), ok({**CONFIG, "version": 2, "config": {"preserved_attributes": ["b"]}}))
    registry, slept = client(server.url)
    pushed = registry.push("x", {"preserved_attributes": ["b"]})
    assert pushed.version == 2
    assert [(r[0], r[2].get("If-Match")) for r in server.requests] == [("GET", None), ("PUT", '"1"'), ("PUT", '"1"')]
    assert slept == [0.0]


def test_a_refused_connection_is_retried_then_raised():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    registry, slept = client(f"http://127.0.0.1:{port}", retries=2)
    with pytest.raises(RegistryConnectionError) as raised:
        registry.delete("x")  # never sent, so even a delete is repeated
    assert raised.value.status is None
    assert "cannot reach the registry" in raised.value.detail
    assert len(slept) == 2


def test_a_proxy_in_front_answering_502_while_a_replica_restarts(scripted):
    server = scripted((502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"), ok())
    registry, slept = client(server.url)
    assert registry.get("x").version == 1
    assert len(slept) == 1
    server.answers.append((502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"))
    with pytest.raises(RegistryError):
        registry.delete("x")  # ambiguous for a write
    assert len(slept) == 1


def test_an_answer_that_is_not_a_problem(scripted):
    server = scripted(*[(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>")] * 4)
    registry, _ = client(server.url)
    with pytest.raises(RegistryError) as raised:
        registry.get("x")
    assert (raised.value.status, raised.value.detail) == (502, "<html>Bad Gateway</html>")


def test_retry_after_as_an_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("soon") is None


def test_a_timeout_is_a_connection_error(scripted):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers
    try:
        registry, slept = client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3, retries=1)
        with pytest.raises(RegistryConnectionError, match="timed out"):
            registry.get("x")
        assert len(slept) == 1  # a read is repeated after a timeout
    finally:
        silent.close()


class AnswerSwallowingProxy:
    """Forwards one HTTP exchange per connection to the registry; for the requests ``swallow``
    picks, the registry handles the request but the client gets a dropped connection instead of
    the answer (as when a network or a load balancer fails after the commit)."""

    def __init__(self, upstream: str, swallow: Callable[[bytes], bool]) -> None:
        host, port = upstream.split("//")[1].split(":")
        self.upstream = (host, int(port))
        self.swallow = swallow
        self.swallowed = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _read_message(sock: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += sock.recv(65536)
        return head + b"\r\n\r\n" + body

    def _serve(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            with downstream, socket.create_connection(self.upstream) as upstream:
                request = self._read_message(downstream)
                upstream.sendall(request)
                answer = self._read_message(upstream)
                if self.swallowed == 0 and self.swallow(request):
                    self.swallowed += 1
                    continue  # closes the client's connection without a word
                downstream.sendall(answer)

    def close(self) -> None:
        self.listener.close()


def test_a_push_whose_answer_was_lost_is_recognised_as_done(registry, registry_url, admin_token, name):
    registry.push(name, {"preserved_attributes": ["a"]})
    proxy = AnswerSwallowingProxy(registry_url, lambda request: request.startswith(b"PUT "))
    try:
        through, slept = client(proxy.url, timeout=10)
        through._http.token = admin_token
        pushed = through.push(name, {"preserved_attributes": ["b"]}, description="second", if_match=1)
    finally:
        proxy.close()
    assert proxy.swallowed == 1 and len(slept) == 1
    # The repeat was answered 412 (the first had landed); the client saw its own write in it.
    assert (pushed.version, pushed.config, pushed.description) == (2, {"preserved_attributes": ["b"]}, "second")
    assert [v.version for v in registry.history(name)] == [2, 1]


def test_a_lost_answer_is_not_mistaken_when_someone_else_wrote(registry, registry_url, admin_token, name):
    """The write landed, then another client wrote before the repeat: the 412 is the truth for
    if_match (the version the caller named is gone), and push without if_match writes again on top."""
    registry.push(name, {"preserved_attributes": ["a"]})
    other = Registry(registry_url, token=admin_token)

    def swallow_and_race(request: bytes) -> bool:
        if request.startswith(b"PUT "):
            other.push(name, {"preserved_attributes": ["someone_else"]})
            return True
        return False

    proxy = AnswerSwallowingProxy(registry_url, swallow_and_race)
    try:
        through, _ = client(proxy.url, timeout=10)
        through._http.token = admin_token
        with pytest.raises(PreconditionFailedError) as raised:
            through.push(name, {"preserved_attributes": ["b"]}, if_match=1)
    finally:
        proxy.close()
    assert raised.value.after_retry is True
    assert [v.config["preserved_attributes"] for v in registry.history(name)] == [["someone_else"], ["b"], ["a"]]


def test_register_class_with_exist_ok_survives_a_lost_answer(registry, registry_url, admin_token, name):
    identifier = f"my_pkg.scratch.Lost{name.replace('-', '_')}"
    proxy = AnswerSwallowingProxy(registry_url, lambda request: request.startswith(b"POST "))
    try:
        through, _ = client(proxy.url, timeout=10)
        through._http.token = admin_token
        registered = through.register_class(identifier, from_observed=True, exist_ok=True)
        with pytest.raises(ConflictError):
            through.register_class(identifier, from_observed=True)
    finally:
        proxy.close()
    assert registered.id == identifier and proxy.swallowed == 1
