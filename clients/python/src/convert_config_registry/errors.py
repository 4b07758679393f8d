"""What can go wrong, as exceptions a pipeline can catch by kind.

Every answer of the registry that is an error is an RFC 9457 problem; :class:`RegistryError`
carries it (``status``, ``type``, ``title``, ``detail``, ``errors``) and a subclass per status,
so ``except NotFoundError`` reads like what it means. Problems with the local Python side
(an identifier that does not import, a class that has no registered identifier) are not
registry errors and have their own classes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IdentifierImportError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitedError",
    "RegistryConnectionError",
    "RegistryError",
    "ServiceUnavailableError",
    "UnregisteredClassError",
    "ValidationError",
]


class RegistryError(Exception):
    """The registry answered with an error, or could not be reached (see :attr:`status`).

    ``problem`` is the RFC 9457 body as sent; ``errors`` its list of ``{pointer | parameter,
    detail}`` entries (validation problems name the exact place in what was sent), and
    ``pointers`` just the places. ``retry_after`` is the ``Retry-After`` of a 429 or 503, in
    seconds, when the registry sent one.
    """

    def __init__(
        self,
        method: str,
        url: str,
        status: Optional[int],
        problem: Mapping[str, Any],
        retry_after: Optional[float] = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.problem: Dict[str, Any] = dict(problem)
        self.type: str = str(problem.get("type") or "about:blank")
        self.title: str = str(problem.get("title") or (f"HTTP {status}" if status else "Error"))
        self.detail: str = str(problem.get("detail") or self.title)
        self.errors: List[Dict[str, Any]] = [e for e in problem.get("errors") or [] if isinstance(e, dict)]
        self.retry_after = retry_after
        #: True when this answer came to a repeat of a request whose first attempt may have been
        #: applied (its answer was lost); see Registry.push.
        self.after_retry = False
        super().__init__(self.detail)

    @property
    def pointers(self) -> List[str]:
        """The JSON Pointers (or parameter names) of the validation problems, in order."""
        return [str(e.get("pointer") or e.get("parameter") or "") for e in self.errors]

    def __str__(self) -> str:
        where = f"{self.method} {self.url}"
        head = f"{where}: {self.status} {self.title}: {self.detail}" if self.status else f"{where}: {self.detail}"
        lines = [head]
        for error in self.errors:
            place = error.get("pointer") or error.get("parameter") or ""
            lines.append(f"  {place}: {error.get('detail', '')}")
        return "\n".join(lines)


class BadRequestError(RegistryError):
    """400: the request could not be read (malformed JSON, a tampered page token, ...)."""


class AuthenticationError(RegistryError):
    """401: no token, or one the registry does not know (set CONVERT_CONFIG_REGISTRY_TOKEN)."""


class PermissionDeniedError(RegistryError):
    """403: the token's role may not do this (reader, writer, admin)."""


class NotFoundError(RegistryError):
    """404: no such config, version, alias or module class (the detail says which)."""


class ConflictError(RegistryError):
    """409: the request conflicts with the registry's state (e.g. the class exists, or is in use)."""


class PreconditionFailedError(RegistryError):
    """412: ``if_match`` named a version that is no longer the current one (someone wrote)."""


class ValidationError(RegistryError):
    """422: the config (or a parameter) breaks a rule; :attr:`errors` says where and why."""


class RateLimitedError(RegistryError):
    """429: over the rate limit; retried by the client, raised once its retries are spent."""


class ServiceUnavailableError(RegistryError):
    """503: the service (or its database) cannot answer right now."""


class RegistryConnectionError(RegistryError):
    """The registry could not be reached (refused, reset, timed out): ``status`` is None."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        super().__init__(method, url, None, {"title": "Connection failed", "detail": reason})


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_for_status(
    method: str, url: str, status: int, problem: Mapping[str, Any], retry_after: Optional[float] = None
) -> RegistryError:
    """The exception for a problem answer: the subclass for its status, else RegistryError."""
    return _BY_STATUS.get(status, RegistryError)(method, url, status, problem, retry_after)


class IdentifierImportError(ImportError):
    """A module class identifier that does not import here: its module is missing, or lacks the class."""

    def __init__(self, identifier: str, reason: str) -> None:
        self.identifier = identifier
        self.reason = reason
        super().__init__(f"cannot import module class '{identifier}': {reason}")


class UnregisteredClassError(ValueError):
    """A class in a config being sent that has no identifier registered with the registry."""

    def __init__(self, cls: Any, candidates: List[str]) -> None:
        self.cls = cls
        self.candidates = candidates
        tried = ", ".join(candidates) if candidates else "none (the class cannot be imported by a dotted path)"
        name = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)}"
        super().__init__(
            f"no registered identifier for class {name} (tried: {tried}); register it "
            "(Registry.register_class) or pass identifiers={cls: 'package.Name'}"
        )
