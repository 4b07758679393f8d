"""watch(): a long-poll generator of new configs, across other clients' pushes and a restart."""

import logging
import queue
import re
import threading
import time
import urllib.request

import pytest
from torch.ao.quantization.fx.custom_config import ConvertCustomConfig

from convert_config_registry import NotFoundError, Registry

MAP = "observed_to_quantized_custom_module_class"


def attrs(*names):
    return {"preserved_attributes": list(names)}


class Watcher:
    """Runs a watch in a thread; what it yields (or raises) arrives on a queue with its time."""

    def __init__(self, watch):
        self.watch = watch
        self.items: "queue.Queue" = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for item in self.watch:
                self.items.put((time.monotonic(), item))
        except Exception as error:  # handed to the test
            self.items.put((time.monotonic(), error))

    def next(self, timeout=30):
        arrived, item = self.items.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        return arrived, item

    def stop(self):
        self.watch.close()


def test_watch_yields_a_push_by_another_client_within_two_seconds(registry, registry_url, admin_token, name):
    registry.push(name, attrs("a"))
    watcher = Watcher(registry.watch(name, wait=30))
    try:
        _, first = watcher.next()
        assert type(first) is ConvertCustomConfig and first.preserved_attributes == ["a"]
        assert watcher.watch.current.version == 1

        other = Registry(registry_url, token=admin_token)
        time.sleep(0.5)  # the watcher is waiting in its long-poll now
        pushed_at = time.monotonic()
        other.push(name, attrs("b"))
        arrived, second = watcher.next(timeout=10)
        # Held for up to 30 s, answered by the push: a poll would not have seen it this soon.
        assert arrived - pushed_at < 2.0, f"took {arrived - pushed_at:.2f} s"
        assert second.preserved_attributes == ["b"]
        assert watcher.watch.current.version == 2
    finally:
        watcher.stop()


def config_reads(registry_url):
    """How many GET /v1/configs/{name} the registry has answered (its Prometheus counter)."""
    with urllib.request.urlopen(f"{registry_url}/metrics") as answer:
        text = answer.read().decode()
    pattern = r'^http_requests_total\{method="GET",route="/v1/configs/:name",status_code="\d+"\} (\d+)'
    return sum(int(n) for n in re.findall(pattern, text, re.M))


def test_an_idle_watch_waits_instead_of_asking_again_and_again(registry, registry_url, name):
    registry.push(name, attrs("a"))
    watcher = Watcher(registry.watch(name, after_version=1, wait=2))
    try:
        time.sleep(0.5)
        before = config_reads(registry_url)
        time.sleep(4)
        asked = config_reads(registry_url) - before
    finally:
        watcher.stop()
    assert asked <= 3, f"{asked} reads in 4 s of waiting with wait=2"
    assert watcher.items.empty()


def test_watch_an_alias_follows_what_it_names(registry, name):
    for i in range(3):
        registry.push(name, attrs(f"a{i}"))
    registry.set_alias(name, "production", 1)
    watch = registry.watch(name, alias="production", after_version=1, load=False, wait=5)
    watcher = Watcher(watch)
    try:
        time.sleep(0.3)
        registry.push(name, attrs("a3"))  # a new latest version: production does not move
        registry.set_alias(name, "production", 2)
        _, moved = watcher.next()
        assert (moved.version, moved.config) == (2, attrs("a1"))
        registry.set_alias(name, "production", 1)  # moving back is a change too
        _, back = watcher.next()
        assert back.version == 1
    finally:
        watcher.stop()


def test_watch_survives_a_restart_of_the_registry(registry_url, admin_token, service, name, caplog):
    registry = Registry(registry_url, token=admin_token, max_backoff=1.0)
    registry.push(name, attrs("a"))
    with caplog.at_level(logging.INFO, logger="convert_config_registry"):
        watcher = Watcher(registry.watch(name, wait=10))
        try:
            assert watcher.next()[1].preserved_attributes == ["a"]
            service.stop()
            # Down until the watcher has found nobody home (and keeps trying).
            deadline = time.monotonic() + 30
            while "reconnecting in" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)
            service.start()
            Registry(registry_url, token=admin_token).push(name, attrs("b"))
            _, after = watcher.next(timeout=30)
            assert after.preserved_attributes == ["b"]
            assert watcher.watch.current.version == 2
        finally:
            watcher.stop()
    assert "reconnecting in" in caplog.text
    assert "reconnected" in caplog.text
    assert admin_token not in caplog.text


def test_deleting_the_config_ends_the_watch(registry, name):
    registry.push(name, attrs("a"))
    watcher = Watcher(registry.watch(name, after_version=1, wait=10))
    try:
        time.sleep(0.3)
        registry.delete(name)
        with pytest.raises(NotFoundError):
            watcher.next()
    finally:
        watcher.stop()


def test_watch_of_a_config_that_does_not_exist_raises_at_once(registry, name):
    with pytest.raises(NotFoundError):
        next(registry.watch(name))
