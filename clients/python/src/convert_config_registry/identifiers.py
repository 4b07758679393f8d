"""Module classes and their registered identifiers, both ways, and the to_dict document.

The registry names a class by its *public import path*: the module you import it from plus its
name (``torch.ao.nn.quantized.LSTM``, not the defining module
``torch.ao.nn.quantized.modules.rnn.LSTM``). Loading imports each identifier with importlib;
sending turns each class back into the identifier the registry has registered for it.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional

from .errors import IdentifierImportError, UnregisteredClassError

MAPPING_KEY = "observed_to_quantized_custom_module_class"
PRESERVED_KEY = "preserved_attributes"


def resolve_identifier(identifier: str) -> Any:
    """The class an identifier names: imports all but its last segment, then takes the attribute.

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


def import_paths(cls: Any) -> List[str]:
    """Dotted paths that import ``cls`` itself, shortest (most public) first.

    A class is usually re-exported by a package above its defining module: every parent package
    of ``cls.__module__`` that has the class under its name is a candidate.
    """
    qualname = getattr(cls, "__qualname__", "")
    module = getattr(cls, "__module__", None)
    if not isinstance(module, str) or not qualname or "." in qualname or "<" in qualname:
        return []  # nested and local classes cannot be imported as module.Class
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


def public_import_path(cls: type) -> str:
    """The shortest dotted path that imports ``cls``: the identifier to register it under."""
    paths = import_paths(cls)
    if not paths:
        raise UnregisteredClassError(cls, [])
    return paths[0]


def identifier_of(
    value: Any, is_registered: Callable[[str], bool], identifiers: Optional[Mapping[Any, str]] = None
) -> str:
    """The registered identifier for a class (a string is already one).

    ``identifiers`` (``{class: "pkg.Name"}``, yours) wins; otherwise the shortest import path of
    the class that ``is_registered``. Raises :class:`UnregisteredClassError` when none is.
    """
    if isinstance(value, str):
        return value
    if identifiers and value in identifiers:
        return identifiers[value]
    candidates = import_paths(value)
    for candidate in candidates:
        if is_registered(candidate):
            return candidate
    raise UnregisteredClassError(value, candidates)


def quant_type_name(quant_type: Any) -> str:
    """``"static"`` for ``"static"`` or ``QuantType.STATIC`` (to_dict gives names; a hand-made dict may not)."""
    if isinstance(quant_type, str):
        return quant_type
    name = getattr(quant_type, "name", None)
    if isinstance(name, str):
        return name.lower()
    raise ValueError(f"not a quant type: {quant_type!r}")


def to_dict_of(config: Any) -> Mapping[str, Any]:
    """The to_dict form of a ConvertCustomConfig (anything with ``to_dict()``), or the dict itself."""
    if isinstance(config, Mapping):
        return config
    to_dict = getattr(config, "to_dict", None)
    if not callable(to_dict):
        raise TypeError(f"expected a ConvertCustomConfig or its to_dict() form, not {type(config).__name__}")
    document: Mapping[str, Any] = to_dict()
    return document


def identifier_document(
    config: Any, is_registered: Callable[[str], bool], identifiers: Optional[Mapping[Any, str]] = None
) -> Dict[str, Any]:
    """The document to send: ``config``'s to_dict with every class as its identifier, order kept."""
    cache: Dict[Any, str] = {}

    def ident(value: Any) -> str:
        if value not in cache:
            cache[value] = identifier_of(value, is_registered, identifiers)
        return cache[value]

    out: Dict[str, Any] = {}
    for key, value in to_dict_of(config).items():
        if key == MAPPING_KEY:
            out[key] = {
                quant_type_name(quant_type): {ident(o): ident(q) for o, q in mapping.items()}
                for quant_type, mapping in value.items()
            }
        elif key == PRESERVED_KEY:
            out[key] = list(value)
        else:
            out[key] = value  # unknown keys go to the registry, which names them in its 422
    return out


def class_document(document: Mapping[str, Any]) -> Dict[str, Any]:
    """A stored document with every identifier imported, every order kept (for ``from_dict``)."""
    resolved: Dict[str, Any] = {}
    for key, value in document.items():
        if key == MAPPING_KEY:
            resolved[key] = {
                quant_type: {resolve_identifier(o): resolve_identifier(q) for o, q in mapping.items()}
                for quant_type, mapping in value.items()
            }
        else:
            resolved[key] = value
    return resolved


def convert_custom_config(document: Mapping[str, Any]) -> Any:
    """``ConvertCustomConfig.from_dict`` of a stored document, with the classes in place of the
    identifiers. ``from_dict`` replays the setters in the stored order, so ``to_dict()`` matches it.
    """
    from torch.ao.quantization.fx.custom_config import ConvertCustomConfig  # type: ignore[import-not-found, unused-ignore]

    return ConvertCustomConfig.from_dict(class_document(document))


def canonical(document: Mapping[str, Any]) -> Dict[str, Any]:
    """The form the registry stores: quant types with no entries, and empty lists, dropped."""
    out: Dict[str, Any] = {}
    for key, value in document.items():
        if key == MAPPING_KEY:
            kept = {q: dict(m) for q, m in value.items() if m}
            if kept:
                out[key] = kept
        elif key == PRESERVED_KEY:
            if value:
                out[key] = list(value)
        else:
            out[key] = value
    return out


def same_document(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal, order included (the order of a config is part of it)."""
    return json.dumps(a) == json.dumps(b)
