"""``Registry``: the convert-config registry from Python.

    from convert_config_registry import Registry

    registry = Registry()  # CONVERT_CONFIG_REGISTRY_URL, CONVERT_CONFIG_REGISTRY_TOKEN
    config = registry.load("resnet50-int8", alias="production")
    quantized = convert_fx(prepared, convert_custom_config=config)
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, TypeVar, Union

from .conditional import ETag, conditional_write, etag_of, version_of_etag
from .errors import NotFoundError, PreconditionFailedError, RegistryError, ValidationError
from .identifiers import canonical, convert_custom_config, identifier_document, identifier_of, public_import_path, same_document
from .models import Alias, AliasMove, Config, Diff, ModuleClass, Validation
from .transport import Transport, segment
from .watch import ConfigWatch, EventFeed

URL_ENV = "CONVERT_CONFIG_REGISTRY_URL"
TOKEN_ENV = "CONVERT_CONFIG_REGISTRY_TOKEN"

T = TypeVar("T")
ClassRef = Union[str, type]


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: "Leave it as it is": push's default for description and labels.
KEEP: Any = _Keep()


class Registry:
    """A client of one convert-config registry.

    ``base_url`` and ``token`` default to ``CONVERT_CONFIG_REGISTRY_URL`` and
    ``CONVERT_CONFIG_REGISTRY_TOKEN``. ``timeout`` bounds each request (seconds); ``retries``
    is how many times a request is repeated after a 429, a 503 or a lost connection, with
    exponential backoff from ``backoff`` up to ``max_backoff`` seconds, or what ``Retry-After``
    says (up to ``max_retry_after``; longer, and the error is raised). Only requests whose
    repeat cannot apply anything twice are repeated after a failure that may have left them
    applied (see :mod:`convert_config_registry.transport`).
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_retry_after: float = 60.0,
    ) -> None:
        url = base_url or os.environ.get(URL_ENV)
        if not url:
            raise ValueError(f"no registry URL: pass base_url= or set {URL_ENV}")
        from . import __version__

        self._http = Transport(
            url,
            token if token is not None else (os.environ.get(TOKEN_ENV) or None),
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            max_retry_after=max_retry_after,
            user_agent=f"convert-config-registry-python/{__version__}",
        )
        self._registered: Dict[str, bool] = {}

    @property
    def base_url(self) -> str:
        """The registry's base URL, without a trailing slash."""
        return self._http.base_url

    def __repr__(self) -> str:
        # Never the token.
        return f"Registry({self.base_url!r})"

    # --- reading -------------------------------------------------------------------------------

    def get(self, name: str, version: Optional[int] = None, alias: Optional[str] = None) -> Config:
        """The config: its latest version, ``version``, or the version ``alias`` names."""
        _one_of(version, alias)
        if version is not None:
            return Config.from_json(self._json("GET", f"/v1/configs/{segment(name)}/versions/{int(version)}"))
        return Config.from_json(self._json("GET", f"/v1/configs/{segment(name)}", {"alias": alias}))

    def get_dict(self, name: str, version: Optional[int] = None, alias: Optional[str] = None) -> Dict[str, Any]:
        """The bare ``to_dict`` document, identifiers for classes, in the stored order."""
        _one_of(version, alias)
        document: Dict[str, Any] = self._json("GET", f"/v1/configs/{segment(name)}/dict", {"version": version, "alias": alias})
        return document

    def get_python(self, name: str, version: Optional[int] = None, alias: Optional[str] = None) -> str:
        """A runnable snippet that builds the ``ConvertCustomConfig`` (as ``convert_custom_config``)."""
        _one_of(version, alias)
        query = {"version": version, "alias": alias}
        return self._http.request("GET", f"/v1/configs/{segment(name)}/python", query, safe=True).body.decode("utf-8")

    def load(self, name: str, version: Optional[int] = None, alias: Optional[str] = None) -> Any:
        """The config as a real ``ConvertCustomConfig``, classes imported from their identifiers.

        Raises :class:`IdentifierImportError` naming an identifier that does not import here.
        """
        return convert_custom_config(self.get_dict(name, version=version, alias=alias))

    def history(self, name: str, page_size: Optional[int] = None) -> Iterator[Config]:
        """Every version, newest first (fetched page by page as you iterate)."""
        return self._pages(f"/v1/configs/{segment(name)}/versions", {"pageSize": page_size}, Config.from_json)

    def diff(self, name: str, from_version: int, to_version: Optional[int] = None) -> Diff:
        """What changed from one version to another (the latest when ``to_version`` is None)."""
        query = {"from": int(from_version), "to": None if to_version is None else int(to_version)}
        return Diff.from_json(self._json("GET", f"/v1/configs/{segment(name)}/diff", query))

    def list_configs(
        self,
        prefix: Optional[str] = None,
        labels: Optional[Mapping[str, str]] = None,
        uses_class: Optional[ClassRef] = None,
        show_deleted: bool = False,
        page_size: Optional[int] = None,
    ) -> Iterator[Config]:
        """Configs by name, every page: filtered by name prefix, labels (all must match) and a
        class their latest version uses; soft-deleted ones too with ``show_deleted``."""
        query: Dict[str, Any] = {
            "prefix": prefix,
            "label": [f"{k}:{v}" for k, v in (labels or {}).items()] or None,
            "usesClass": None if uses_class is None else self.identifier_of(uses_class),
            "showDeleted": True if show_deleted else None,
            "pageSize": page_size,
        }
        return self._pages("/v1/configs", query, Config.from_json)

    # --- writing -------------------------------------------------------------------------------

    def push(
        self,
        name: str,
        config: Any,
        *,
        description: Any = KEEP,
        labels: Any = KEEP,
        if_match: Optional[ETag] = None,
        identifiers: Optional[Mapping[Any, str]] = None,
        dry_run: bool = False,
    ) -> Config:
        """Stores ``config`` (a ``ConvertCustomConfig`` or its ``to_dict`` form) as the config's
        next version, creating the config if needed; returns what was stored.

        Classes become their registered identifiers (see :meth:`identifier_of`). The description
        and labels stay as they are unless given. With ``if_match`` (a version or ETag you read)
        it writes only over that version (else :class:`PreconditionFailedError`). Without it, it
        writes over whatever is current, never over a description or labels it did not read.
        ``dry_run`` validates and answers what would be stored, storing nothing. A :class:`Config`
        (e.g. another config's, or an older version from :meth:`history`) pushes its document.
        """
        document = identifier_document(config.config if isinstance(config, Config) else config, self._is_registered, identifiers)
        keep = description is KEEP or labels is KEEP

        def body(current: Optional[Config]) -> Dict[str, Any]:
            return {
                "config": document,
                "description": (current.description if current else "") if description is KEEP else description,
                "labels": (dict(current.labels) if current else {}) if labels is KEEP else dict(labels),
            }

        def write(current: Optional[Config], headers: Dict[str, str]) -> Config:
            safe = dry_run or bool(headers)
            return Config.from_json(
                self._json("PUT", f"/v1/configs/{segment(name)}", None, body(current), headers, safe, dry_run)
            )

        def landed(current: Optional[Config], expected_version: int) -> Optional[Config]:
            now = self._current(name)
            sent = body(current)
            if now is not None and now.version == expected_version and _same_content(now, sent):
                return now
            return None

        return conditional_write(
            read=(lambda: self._current(name)) if keep or if_match is None else (lambda: None),
            write=write,
            landed=landed,
            version_of=lambda c: c.version,
            if_match=if_match,
        )

    def rollback(self, name: str, version: int, *, if_match: Optional[ETag] = None, dry_run: bool = False) -> Config:
        """A new version whose config, description and labels equal ``version``'s (none if the
        latest already does); re-validated like a write."""
        headers = {} if if_match is None else {"If-Match": etag_of(if_match)}
        path = f"/v1/configs/{segment(name)}/versions/{int(version)}/rollback"
        try:
            return Config.from_json(self._json("POST", path, None, None, headers, dry_run or if_match is not None, dry_run))
        except PreconditionFailedError as error:
            if not (error.after_retry and if_match is not None):
                raise
            now, target = self._current(name), self.get(name, version=version)
            content = {"config": target.config, "description": target.description, "labels": target.labels}
            if now is not None and now.version == version_of_etag(if_match) + 1 and _same_content(now, content):
                return now
            raise

    def delete(self, name: str, *, if_match: Optional[ETag] = None, purge: bool = False) -> None:
        """Soft-deletes the config (history kept; :meth:`undelete` restores it); ``purge`` (admin)
        erases it and its history."""
        headers = {} if if_match is None else {"If-Match": etag_of(if_match)}
        self._http.request("DELETE", f"/v1/configs/{segment(name)}", {"purge": True if purge else None}, headers=headers)

    def undelete(self, name: str, *, dry_run: bool = False) -> Config:
        """Restores a soft-deleted config (422 if it names a class no longer registered)."""
        return Config.from_json(self._json("POST", f"/v1/configs/{segment(name)}/undelete", safe=dry_run, dry_run=dry_run))

    # --- aliases -------------------------------------------------------------------------------

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        protected: Optional[bool] = None,
        if_match: Optional[ETag] = None,
        dry_run: bool = False,
    ) -> Alias:
        """Points ``alias`` (``production``) at ``version``, creating it if needed. ``protected``
        (admin) changes its protection; ``if_match`` is the alias's ``moves`` you read."""
        payload: Dict[str, Any] = {"version": int(version)}
        if protected is not None:
            payload["protected"] = bool(protected)
        path = f"/v1/configs/{segment(name)}/aliases/{segment(alias)}"

        def write(_current: Optional[Alias], headers: Dict[str, str]) -> Alias:
            safe = dry_run or bool(headers)
            return Alias.from_json(self._json("PUT", path, None, payload, headers, safe, dry_run))

        def landed(_current: Optional[Alias], expected_moves: int) -> Optional[Alias]:
            now = self._current_alias(name, alias)
            if now is None or now.moves != expected_moves or now.version != payload["version"]:
                return None
            return now if protected is None or now.protected == protected else None

        return conditional_write(
            read=(lambda: self._current_alias(name, alias)) if if_match is None else (lambda: None),
            write=write,
            landed=landed,
            version_of=lambda a: a.moves,
            if_match=if_match,
        )

    def get_alias(self, name: str, alias: str) -> Alias:
        """The alias: the version it names, its protection and how often it moved."""
        return Alias.from_json(self._json("GET", f"/v1/configs/{segment(name)}/aliases/{segment(alias)}"))

    def aliases(self, name: str) -> List[Alias]:
        """Every alias of the config, by alias name."""
        page = self._json("GET", f"/v1/configs/{segment(name)}/aliases")
        return [Alias.from_json(item) for item in page.get("items") or []]

    def alias_history(self, name: str, alias: str, page_size: Optional[int] = None) -> Iterator[AliasMove]:
        """Every move of the alias, newest first (a deletion is a move to ``version=None``)."""
        path = f"/v1/configs/{segment(name)}/aliases/{segment(alias)}/history"
        return self._pages(path, {"pageSize": page_size}, AliasMove.from_json)

    def delete_alias(self, name: str, alias: str, *, if_match: Optional[ETag] = None) -> None:
        """Deletes the alias; its history stays (ending in a move to ``version=None``)."""
        headers = {} if if_match is None else {"If-Match": etag_of(if_match)}
        self._http.request("DELETE", f"/v1/configs/{segment(name)}/aliases/{segment(alias)}", headers=headers)

    # --- module classes ------------------------------------------------------------------------

    def register_class(
        self,
        cls: ClassRef,
        *,
        from_observed: Optional[bool] = None,
        description: Optional[str] = None,
        exist_ok: bool = False,
    ) -> ModuleClass:
        """Registers a module class so configs may name it.

        Given the class itself, the identifier is its public import path (the shortest dotted
        path that imports it), ``from_observed`` whether it defines ``from_observed`` (a
        quantized class), and the description its docstring's first line. With ``exist_ok`` an
        identifier already registered is returned as it is.
        """
        if isinstance(cls, str):
            identifier = cls
            observed = bool(from_observed)
            text = description or ""
        else:
            identifier = public_import_path(cls)
            observed = callable(getattr(cls, "from_observed", None)) if from_observed is None else from_observed
            text = description if description is not None else _first_line(cls.__doc__)
        body = {"id": identifier, "fromObserved": observed, "description": text}
        try:
            # A repeat of a create that committed is a 409, which exist_ok turns into the class.
            registered = ModuleClass.from_json(self._json("POST", "/v1/module-classes", None, body, safe=exist_ok))
        except RegistryError as error:
            if not (exist_ok and error.status == 409):
                raise
            registered = self.get_class(identifier)
        self._registered[identifier] = True
        return registered

    def get_class(self, cls: ClassRef) -> ModuleClass:
        """The registration of a class (given as the class, or its identifier)."""
        return ModuleClass.from_json(self._json("GET", f"/v1/module-classes/{segment(self._class_id(cls))}"))

    def list_classes(self, prefix: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[ModuleClass]:
        """Registered classes by identifier, every page."""
        return self._pages("/v1/module-classes", {"prefix": prefix, "pageSize": page_size}, ModuleClass.from_json)

    def class_references(self, cls: ClassRef) -> Iterator[str]:
        """Names of the live configs whose latest version uses the class."""
        return self._pages(f"/v1/module-classes/{segment(self._class_id(cls))}/references", {}, str)

    def delete_class(self, cls: ClassRef) -> None:
        """Unregisters a class (409 while a live config uses it)."""
        identifier = self._class_id(cls)
        self._http.request("DELETE", f"/v1/module-classes/{segment(identifier)}")
        self._registered.pop(identifier, None)

    def identifier_of(self, cls: ClassRef, identifiers: Optional[Mapping[Any, str]] = None) -> str:
        """The registered identifier of a class: ``identifiers[cls]`` if given, else the shortest
        import path of it that the registry has registered (:class:`UnregisteredClassError` if none)."""
        return identifier_of(cls, self._is_registered, identifiers)

    # --- validation, the feed, watching --------------------------------------------------------

    def validate(self, config: Any, identifiers: Optional[Mapping[Any, str]] = None) -> Validation:
        """What ``config`` would be stored as (canonical form, hash, warnings), or the
        :class:`ValidationError` a write would get. Stores nothing."""
        document = identifier_document(config.config if isinstance(config, Config) else config, self._is_registered, identifiers)
        return Validation.from_json(self._json("POST", "/v1/validate", None, {"config": document}, safe=True))

    def events(
        self,
        after: int = 0,
        *,
        name: Optional[str] = None,
        types: Optional[Sequence[str]] = None,
        follow: bool = False,
        wait: int = 30,
        limit: int = 100,
    ) -> EventFeed:
        """The change feed after revision ``after``, oldest first, filtered by config ``name``
        and event ``types``; with ``follow`` it waits for new events forever (see EventFeed)."""
        return EventFeed(self._http, int(after), name, types, follow, wait, limit)

    def watch(
        self,
        name: str,
        alias: Optional[str] = None,
        *,
        after_version: Optional[int] = None,
        load: bool = True,
        wait: int = 30,
    ) -> ConfigWatch:
        """Yields the config (a ``ConvertCustomConfig``; the :class:`Config` with ``load=False``)
        now and each time a new version lands, or the alias moves; see ConfigWatch."""
        return ConfigWatch(self._http, name, alias, after_version, load, wait)

    # --- plumbing ------------------------------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        safe: Optional[bool] = None,
        dry_run: bool = False,
    ) -> Any:
        is_safe = method == "GET" if safe is None else safe
        if dry_run:
            query = {**(query or {}), "dryRun": True}
        response = self._http.request(method, path, query, body, headers, safe=is_safe)
        if dry_run and response.headers.get("X-Dry-Run") != "true":
            # A registry from before dry runs ignores the parameter: say so, loudly.
            raise RegistryError(
                method,
                self._http.url(path, query),
                response.status,
                {"title": "Dry run not supported", "detail": "the registry did not answer as a dry run (no X-Dry-Run: true): the write was applied"},
            )
        return response.json()

    def _pages(self, path: str, query: Mapping[str, Any], item: Callable[[Any], T]) -> Iterator[T]:
        token: Optional[str] = None
        while True:
            page = self._json("GET", path, {**query, "pageToken": token})
            for entry in page.get("items") or []:
                yield item(entry)
            token = page.get("nextPageToken")
            if not token:
                return

    def _current(self, name: str) -> Optional[Config]:
        try:
            return self.get(name)
        except NotFoundError:
            return None

    def _current_alias(self, name: str, alias: str) -> Optional[Alias]:
        try:
            return self.get_alias(name, alias)
        except NotFoundError:
            return None  # a missing config, too: the write that follows says so

    def _is_registered(self, identifier: str) -> bool:
        if identifier not in self._registered:
            try:
                self._http.request("GET", f"/v1/module-classes/{segment(identifier)}", safe=True)
            except (NotFoundError, ValidationError):
                return False  # not cached: it may be registered in a moment
            self._registered[identifier] = True
        return True

    def _class_id(self, cls: ClassRef) -> str:
        return cls if isinstance(cls, str) else self.identifier_of(cls)


def _one_of(version: Optional[int], alias: Optional[str]) -> None:
    if version is not None and alias is not None:
        raise ValueError("pass version or alias, not both")


def _first_line(doc: Optional[str]) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0].strip()[:4096] if lines else ""


def _same_content(now: Config, sent: Mapping[str, Any]) -> bool:
    return (
        same_document(now.config, canonical(sent["config"]))
        and now.description == sent["description"]
        and now.labels == dict(sent["labels"])
    )


__all__ = ["KEEP", "Registry", "TOKEN_ENV", "URL_ENV"]
