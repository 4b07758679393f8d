"""The registry's resources as Python values (snake_case fields; ``raw`` keeps the JSON as sent).

Fields the registry adds later are kept in ``raw`` and ignored otherwise, so an older client
keeps working against a newer registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional

from .identifiers import convert_custom_config


def timestamp(value: Optional[str]) -> Optional[datetime]:
    """An RFC 3339 UTC time stamp (``2026-01-01T00:00:00.000Z``) as an aware datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


@dataclass(frozen=True)
class Config:
    """A config: its latest version (from get, push, ...) or one version (from history).

    ``config`` is the stored ``to_dict`` document with identifiers for classes, in the stored
    order; :meth:`convert_custom_config` turns it into a ``ConvertCustomConfig``.
    """

    name: str
    version: int
    description: str
    labels: Dict[str, str]
    config: Dict[str, Any]
    content_hash: str
    created_at: Optional[datetime]
    updated_by: str
    #: When the config was last written (absent on a version from history).
    updated_at: Optional[datetime] = None
    deleted: bool = False
    deleted_at: Optional[datetime] = None
    #: Advice on a write, e.g. qat entries, which convert_fx never consults.
    warnings: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Config":
        return cls(
            name=data["name"],
            version=int(data["version"]),
            description=data.get("description", ""),
            labels=dict(data.get("labels") or {}),
            config=dict(data.get("config") or {}),
            content_hash=data.get("contentHash", ""),
            created_at=timestamp(data.get("createdAt")),
            updated_by=data.get("updatedBy", ""),
            updated_at=timestamp(data.get("updatedAt")),
            deleted=bool(data.get("deleted", False)),
            deleted_at=timestamp(data.get("deletedAt")),
            warnings=list(data.get("warnings") or []),
            raw=dict(data),
        )

    @property
    def etag(self) -> str:
        """The strong ETag (the version, quoted), for ``if_match``."""
        return f'"{self.version}"'

    def convert_custom_config(self) -> Any:
        """This version as a ``torch.ao.quantization.fx.custom_config.ConvertCustomConfig``."""
        return convert_custom_config(self.config)


@dataclass(frozen=True)
class ModuleClass:
    """A registered module class identifier (its public import path)."""

    id: str
    from_observed: bool
    description: str
    built_in: bool
    created_at: Optional[datetime]
    updated_at: Optional[datetime]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModuleClass":
        return cls(
            id=data["id"],
            from_observed=bool(data.get("fromObserved", False)),
            description=data.get("description", ""),
            built_in=bool(data.get("builtIn", False)),
            created_at=timestamp(data.get("createdAt")),
            updated_at=timestamp(data.get("updatedAt")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Alias:
    """A named pointer (``production``) to one version of a config; ``moves`` is its ETag."""

    name: str
    alias: str
    version: int
    protected: bool
    moves: int
    updated_at: Optional[datetime]
    updated_by: str
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Alias":
        return cls(
            name=data["name"],
            alias=data["alias"],
            version=int(data["version"]),
            protected=bool(data.get("protected", False)),
            moves=int(data.get("moves", 0)),
            updated_at=timestamp(data.get("updatedAt")),
            updated_by=data.get("updatedBy", ""),
            raw=dict(data),
        )


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias; ``version`` is None for the move that deleted it."""

    version: Optional[int]
    previous_version: Optional[int]
    protected: bool
    moved_at: Optional[datetime]
    moved_by: str
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AliasMove":
        return cls(
            version=data.get("version"),
            previous_version=data.get("previousVersion"),
            protected=bool(data.get("protected", False)),
            moved_at=timestamp(data.get("movedAt")),
            moved_by=data.get("movedBy", ""),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Event:
    """One change in the registry's feed; ``revision`` orders every change, registry-wide."""

    revision: int
    type: str
    at: Optional[datetime]
    by: str
    name: Optional[str] = None
    version: Optional[int] = None
    alias: Optional[str] = None
    class_id: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Event":
        return cls(
            revision=int(data["revision"]),
            type=data["type"],
            at=timestamp(data.get("at")),
            by=data.get("by", ""),
            name=data.get("name"),
            version=data.get("version"),
            alias=data.get("alias"),
            class_id=data.get("classId"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Validation:
    """What a config would be stored as (``POST /v1/validate``): canonical form, hash, warnings."""

    config: Dict[str, Any]
    content_hash: str
    warnings: List[str]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Validation":
        return cls(
            config=dict(data.get("config") or {}),
            content_hash=data.get("contentHash", ""),
            warnings=list(data.get("warnings") or []),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Diff:
    """What changed between two versions: mappings per quant type, preserved attributes,
    description and labels (each as the registry's ``changes`` object describes them)."""

    from_version: int
    to_version: int
    mappings: Dict[str, Dict[str, List[Dict[str, str]]]]
    preserved_attributes: Dict[str, Any]
    description: Optional[Dict[str, str]]
    labels: Dict[str, Dict[str, Any]]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Diff":
        changes = data.get("changes") or {}
        return cls(
            from_version=int(data["from"]),
            to_version=int(data["to"]),
            mappings=dict(changes.get("mappings") or {}),
            preserved_attributes=dict(changes.get("preservedAttributes") or {}),
            description=changes.get("description"),
            labels=dict(changes.get("labels") or {}),
            raw=dict(data),
        )
