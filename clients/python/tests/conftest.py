"""The package's tests: the installed package, real PyTorch, a live registry.

Run by the service's ``npm test`` (test/python/python-client.test.ts), which installs the package
into a venv of Debian's ``/usr/bin/python3`` (PyTorch 1.13), starts the registry with an admin
token, and sets:

- ``CONVERT_CONFIG_REGISTRY_URL`` / ``CONVERT_CONFIG_REGISTRY_TOKEN``: the registry, and its
  bootstrap admin token (so ``Registry()`` takes both from the environment);
- ``REGISTRY_TEST_CONTROL``: a URL whose ``POST /stop`` and ``POST /start`` stop and start the
  registry process (same port, same database), for the tests of surviving a restart.

Without real torch, or without a registry, the run fails: nothing here is skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest

# Real PyTorch, or nothing: a missing or fake torch fails the whole run here.
import torch
import torch.ao.quantization.quantize_fx  # noqa: F401  (absent from anything but a real torch)

REPO = Path(__file__).resolve().parents[3]
#: A user's own package of custom modules (real torch modules), shared with the README example.
FIXTURES = REPO / "test" / "fixtures" / "python"
sys.path.insert(0, str(FIXTURES))
# ... and for the interpreters the tests start (the CLI, snippets), as a user's environment would.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(FIXTURES), os.environ.get("PYTHONPATH")) if p)

from convert_config_registry import Registry  # noqa: E402

TORCH_VERSION = tuple(int(p) for p in re.findall(r"\d+", torch.__version__)[:2])
assert TORCH_VERSION >= (1, 13), f"PyTorch 1.13+ is needed, found {torch.__version__} at {torch.__file__}"

MAP = "observed_to_quantized_custom_module_class"

#: The user's classes, registered once per run from the class objects themselves.
MY_PKG_CLASSES = ("my_pkg.nn.CustomLinear", "my_pkg.observed.CustomLinear", "my_pkg.quantized.CustomLinear")


def _required(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.fail(f"{variable} is not set: run these tests through npm test (test/python/python-client.test.ts)", pytrace=False)
    return value


@pytest.fixture(scope="session")
def registry_url() -> str:
    return _required("CONVERT_CONFIG_REGISTRY_URL")


@pytest.fixture(scope="session")
def admin_token() -> str:
    return _required("CONVERT_CONFIG_REGISTRY_TOKEN")


@pytest.fixture(scope="session")
def registry(registry_url: str, admin_token: str) -> Registry:
    """The admin's client, configured from the environment alone."""
    return Registry()


@pytest.fixture(scope="session", autouse=True)
def my_pkg_registered(registry: Registry) -> None:
    from convert_config_registry import resolve_identifier

    for identifier in MY_PKG_CLASSES:
        registry.register_class(resolve_identifier(identifier), exist_ok=True)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A config name of this test's own."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:80]
    return f"{slug}-{uuid.uuid4().hex[:8]}"


def http(method: str, url: str, token: str, body: object = None) -> Dict:
    """A request outside the client under test (to set up tokens)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers)) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else {}


@pytest.fixture(scope="session")
def token_for(registry_url: str, admin_token: str) -> Callable[[str], str]:
    """A fresh token's secret for a role (reader, writer, admin)."""

    def make(role: str) -> str:
        created = http("POST", f"{registry_url}/v1/tokens", admin_token, {"name": f"py-{role}-{uuid.uuid4().hex[:8]}", "role": role})
        return created["token"]

    return make


class ServiceControl:
    """Stops and starts the registry process under test (same port, same database)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _post(self, what: str) -> None:
        request = urllib.request.Request(f"{self.url}/{what}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200, answer.read()

    def stop(self) -> None:
        self._post("stop")

    def start(self) -> None:
        self._post("start")


@pytest.fixture
def service() -> Iterator[ServiceControl]:
    control = ServiceControl(_required("REGISTRY_TEST_CONTROL"))
    yield control
    control.start()  # idempotent: a test that failed half-way leaves the registry up for the rest


@pytest.fixture
def cli(registry_url: str, admin_token: str) -> Callable[..., subprocess.CompletedProcess]:
    """Runs the installed console script, as a user's shell would (URL and token from the env)."""
    script = Path(sys.executable).parent / "convert-config-registry"
    assert script.exists(), f"the console script is not installed at {script}"

    def run(*args: str, env: Dict[str, str] = {}, stdin: str = None, timeout: float = 60) -> subprocess.CompletedProcess:
        environment = {**os.environ, **env}
        return subprocess.run([str(script), *args], input=stdin, capture_output=True, text=True, env=environment, timeout=timeout)

    return run
