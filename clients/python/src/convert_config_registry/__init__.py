"""Client and command line for the convert-config registry: named, versioned PyTorch FX
``ConvertCustomConfig``s over HTTP.

    from convert_config_registry import Registry

    registry = Registry()  # CONVERT_CONFIG_REGISTRY_URL and CONVERT_CONFIG_REGISTRY_TOKEN
    config = registry.load("resnet50-int8", alias="production")   # a real ConvertCustomConfig
    quantized = convert_fx(prepared, convert_custom_config=config)

Standard library only; ``torch`` is imported only where a ``ConvertCustomConfig`` is built.
The command line is ``convert-config-registry`` (or ``python -m convert_config_registry``).
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("convert-config-registry")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

from .client import KEEP, TOKEN_ENV, URL_ENV, Registry
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IdentifierImportError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    RegistryConnectionError,
    RegistryError,
    ServiceUnavailableError,
    UnregisteredClassError,
    ValidationError,
)
from .identifiers import convert_custom_config, import_paths, public_import_path, resolve_identifier
from .models import Alias, AliasMove, Config, Diff, Event, ModuleClass, Validation
from .watch import ConfigWatch, EventFeed

__all__ = [
    "KEEP",
    "TOKEN_ENV",
    "URL_ENV",
    "Alias",
    "AliasMove",
    "AuthenticationError",
    "BadRequestError",
    "Config",
    "ConfigWatch",
    "ConflictError",
    "Diff",
    "Event",
    "EventFeed",
    "IdentifierImportError",
    "ModuleClass",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitedError",
    "Registry",
    "RegistryConnectionError",
    "RegistryError",
    "ServiceUnavailableError",
    "UnregisteredClassError",
    "Validation",
    "ValidationError",
    "__version__",
    "convert_custom_config",
    "import_paths",
    "public_import_path",
    "resolve_identifier",
]
