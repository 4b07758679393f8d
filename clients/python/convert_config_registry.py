"""Client for the convert-config registry: load and push PyTorch FX ``ConvertCustomConfig``s.

One module, standard library only, Python 3.9+. Copy it next to your code, or put
``clients/python`` on ``PYTHONPATH``::

    from convert_config_registry import load_convert_custom_config, push

    config = load_convert_custom_config("http://localhost:8080", "resnet50-int8")
    quantized = convert_fx(prepared_model, convert_custom_config=config)

The registry names module classes by their *public import path*, the module you import from plus
the attribute name (``torch.ao.nn.quantized.LSTM``, not the defining module
``torch.ao.nn.quantized.modules.rnn.LSTM``). Loading imports each identifier's module with
importlib and takes the attribute; pushing turns classes back into identifiers (see
:func:`identifier_of`).

Errors: an HTTP error raises :class:`RegistryError` carrying the RFC 9457 problem the registry
sent (``detail`` and, for validation, each problem's JSON Pointer); an identifier that does not
import raises :class:`IdentifierImportError` naming it.
"""

from __future__ import annotations

import importlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional

__all__ = [
    "IdentifierImportError",
    "RegistryError",
    "UnregisteredClassError",
    "get",
    "get_dict",
    "identifier_of",
    "load_convert_custom_config",
    "push",
    "resolve_identifier",
]

MAPPING_KEY = "observed_to_quantized_custom_module_class"
PRESERVED_KEY = "preserved_attributes"
DEFAULT_TIMEOUT = 30.0


class RegistryError(Exception):
    """The registry answered with an error; ``problem`` is its RFC 9457 body (a dict)."""

    def __init__(self, method: str, url: str, status: int, problem: Dict[str, Any]):
        self.method = method
        self.url = url
        self.status = status
        self.problem = problem
        self.detail: str = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        self.errors = list(problem.get("errors") or [])
        super().__init__(str(self))

    def __str__(self) -> str:
        title = self.problem.get("title") or "Error"
        lines = [f"{self.method} {self.url}: {self.status} {title}: {self.detail}"]
        for error in self.errors:
            where = error.get("pointer") or error.get("parameter") or ""
            lines.append(f"  {where}: {error.get('detail', '')}")
        return "\n".join(lines)


class IdentifierImportError(ImportError):
    """A module class identifier that does not import: its module is missing or lacks the attribute."""

    def __init__(self, identifier: str, reason: str):
        self.identifier = identifier
        self.reason = reason
        super().__init__(f"cannot import module class '{identifier}': {reason}")


class UnregisteredClassError(ValueError):
    """A class (in a config being pushed) that has no identifier registered with the registry."""

    def __init__(self, cls: type, candidates: list):
        self.cls = cls
        self.candidates = candidates
        tried = ", ".join(candidates) if candidates else "none (the class is not importable by a dotted path)"
        super().__init__(
            f"no registered identifier for class {cls.__module__}.{cls.__qualname__} (tried: {tried}); "
            "register its public import path (POST /v1/module-classes) or pass identifiers={cls: 'package.Name'}"
        )


# --- HTTP --------------------------------------------------------------------------------------


def _url(base_url: str, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    return url


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _request(
    method: str,
    url: str,
    token: Optional[str] = None,
    body: Any = None,
    headers: Optional[Mapping[str, str]] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> "tuple[int, Dict[str, str], bytes]":
    all_headers = {"Accept": "application/json, application/problem+json"}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            problem = json.loads(raw.decode("utf-8"))
            if not isinstance(problem, dict):
                raise ValueError("not an object")
        except ValueError:
            problem = {"status": error.code, "title": error.reason, "detail": raw.decode("utf-8", "replace")[:500]}
        raise RegistryError(method, url, error.code, problem) from None


def _json(method: str, url: str, **kwargs: Any) -> Any:
    _, _, raw = _request(method, url, **kwargs)
    return json.loads(raw.decode("utf-8"))


# --- Reading -----------------------------------------------------------------------------------


def get(base_url: str, name: str, version: Optional[int] = None, token: Optional[str] = None) -> Dict[str, Any]:
    """The config resource (``name``, ``version``, ``config``, ``description``, ``labels``, ...).

    With ``version``, that immutable version; otherwise the latest.
    """
    path = f"/v1/configs/{_segment(name)}" + (f"/versions/{int(version)}" if version is not None else "")
    return _json("GET", _url(base_url, path), token=token)


def get_dict(base_url: str, name: str, version: Optional[int] = None, token: Optional[str] = None) -> Dict[str, Any]:
    """The bare ``to_dict()`` form, with identifiers (strings) for classes, in the stored order."""
    url = _url(base_url, f"/v1/configs/{_segment(name)}/dict", {"version": version})
    return _json("GET", url, token=token)


def resolve_identifier(identifier: str) -> Any:
    """Imports a module class identifier: the module is all but the last segment, then getattr.

    >>> resolve_identifier("torch.ao.nn.quantized.LSTM")  # doctest: +SKIP
    <class 'torch.ao.nn.quantized.modules.rnn.LSTM'>
    """
    module_name, _, attribute = identifier.rpartition(".")
    if not module_name:
        raise IdentifierImportError(identifier, "it is not a dotted path (module.Class)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise IdentifierImportError(identifier, f"module '{module_name}' does not import ({error})") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise IdentifierImportError(identifier, f"module '{module_name}' has no attribute '{attribute}'") from None


def _resolve_dict(config_dict: Mapping[str, Any]) -> Dict[str, Any]:
    """The to_dict form with every identifier imported, every order kept."""
    resolved: Dict[str, Any] = {}
    for key, value in config_dict.items():
        if key == MAPPING_KEY:
            resolved[key] = {
                quant_type: {resolve_identifier(o): resolve_identifier(q) for o, q in mapping.items()}
                for quant_type, mapping in value.items()
            }
        else:
            resolved[key] = value
    return resolved


def load_convert_custom_config(
    base_url: str, name: str, version: Optional[int] = None, token: Optional[str] = None
) -> Any:
    """Fetches a config and returns ``ConvertCustomConfig.from_dict(...)`` with classes in place
    of identifiers, in the stored order (which ``from_dict`` replays, so ``to_dict()`` matches).

    Raises :class:`IdentifierImportError` naming the first identifier that does not import, and
    :class:`RegistryError` if the registry answers with an error (e.g. 404).
    """
    from torch.ao.quantization.fx.custom_config import ConvertCustomConfig

    return ConvertCustomConfig.from_dict(_resolve_dict(get_dict(base_url, name, version=version, token=token)))


# --- Writing -----------------------------------------------------------------------------------


def _import_paths(cls: type) -> list:
    """Dotted paths that import ``cls`` itself, shortest (most public) first.

    A class is usually re-exported by a package above its defining module
    (``torch.ao.nn.quantized.LSTM`` for ``torch.ao.nn.quantized.modules.rnn.LSTM``): every
    parent package of ``cls.__module__`` that has the class under its name is a candidate.
    """
    qualname = getattr(cls, "__qualname__", "")
    module = getattr(cls, "__module__", None)
    if not module or not qualname or "." in qualname:
        return []  # nested or local classes cannot be imported as module.Class
    parts = module.split(".")
    paths = []
    for end in range(1, len(parts) + 1):
        package = ".".join(parts[:end])
        loaded = sys.modules.get(package)
        if loaded is None:
            try:
                loaded = importlib.import_module(package)
            except ImportError:
                continue
        if getattr(loaded, qualname, None) is cls:
            paths.append(f"{package}.{qualname}")
    return paths


def _is_registered(base_url: str, identifier: str, token: Optional[str]) -> bool:
    try:
        _request("GET", _url(base_url, f"/v1/module-classes/{_segment(identifier)}"), token=token)
        return True
    except RegistryError as error:
        if error.status in (404, 422):
            return False
        raise


def identifier_of(
    cls: Any,
    base_url: str,
    token: Optional[str] = None,
    identifiers: Optional[Mapping[Any, str]] = None,
) -> str:
    """The registered identifier for a class in a config being pushed.

    In order: a string is already an identifier; ``identifiers`` (a ``{class: "pkg.Name"}``
    mapping you pass) wins; otherwise the shortest import path of the class that the registry
    has registered (``torch.ao.nn.quantized.LSTM`` rather than its defining module). Raises
    :class:`UnregisteredClassError` when none is registered.
    """
    if isinstance(cls, str):
        return cls
    if identifiers and cls in identifiers:
        return identifiers[cls]
    candidates = _import_paths(cls)
    for candidate in candidates:
        if _is_registered(base_url, candidate, token):
            return candidate
    raise UnregisteredClassError(cls, candidates)


def _quant_type_name(quant_type: Any) -> str:
    """``"static"`` for ``"static"`` or ``QuantType.STATIC`` (to_dict gives names; a hand-made dict may not)."""
    if isinstance(quant_type, str):
        return quant_type
    name = getattr(quant_type, "name", None)
    if isinstance(name, str):
        return name.lower()
    raise ValueError(f"not a quant type: {quant_type!r}")


def _identifier_dict(
    config_dict: Mapping[str, Any], base_url: str, token: Optional[str], identifiers: Optional[Mapping[Any, str]]
) -> Dict[str, Any]:
    cache: Dict[Any, str] = {}

    def ident(value: Any) -> str:
        if value not in cache:
            cache[value] = identifier_of(value, base_url, token=token, identifiers=identifiers)
        return cache[value]

    out: Dict[str, Any] = {}
    for key, value in config_dict.items():
        if key == MAPPING_KEY:
            out[key] = {
                _quant_type_name(quant_type): {ident(o): ident(q) for o, q in mapping.items()}
                for quant_type, mapping in value.items()
            }
        elif key == PRESERVED_KEY:
            out[key] = list(value)
        else:
            out[key] = value
    return out


def push(
    base_url: str,
    name: str,
    config_or_dict: Any,
    description: str = "",
    labels: Optional[Mapping[str, str]] = None,
    token: Optional[str] = None,
    if_match: Optional[str] = None,
    identifiers: Optional[Mapping[Any, str]] = None,
) -> Dict[str, Any]:
    """Creates or replaces the config ``name`` (``PUT /v1/configs/{name}``); returns the resource.

    ``config_or_dict`` is a ``ConvertCustomConfig`` (anything with ``to_dict()``) or its to_dict
    form, whose classes may be classes or identifier strings (see :func:`identifier_of`). Like
    PUT, this replaces the whole resource: a description or labels left out become empty. Pass
    ``if_match`` (the ETag you read, e.g. ``'"3"'`` or ``3``) to write only if nobody else did
    in between (otherwise :class:`RegistryError` with status 412).
    """
    config_dict = config_or_dict.to_dict() if hasattr(config_or_dict, "to_dict") else config_or_dict
    body = {
        "config": _identifier_dict(config_dict, base_url, token, identifiers),
        "description": description,
        "labels": dict(labels or {}),
    }
    headers = {}
    if if_match is not None:
        headers["If-Match"] = if_match if isinstance(if_match, str) else f'"{int(if_match)}"'
    return _json("PUT", _url(base_url, f"/v1/configs/{_segment(name)}"), token=token, body=body, headers=headers)
