"""Writes that always carry a precondition, so that repeating one can never apply it twice.

The registry applies a write with ``If-Match`` (or ``If-None-Match: *``) at most once: repeated
after its first answer was lost, it is answered 412. These helpers turn such a 412 back into the
success it was when the state is exactly what the write would have made (see transport.py for
when a request is repeated at all).
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, TypeVar, Union

from .errors import PreconditionFailedError

T = TypeVar("T")
ETag = Union[int, str]

#: How many times a write without ``if_match`` reads again after another client wrote in between.
WRITE_ROUNDS = 5


def etag_of(value: ETag) -> str:
    """``3``, ``"3"`` or ``'"3"'`` as the strong ETag ``"3"``."""
    text = str(value).strip()
    return text if text.startswith('"') else f'"{int(text)}"'


def version_of_etag(etag: ETag) -> int:
    """The number in an ETag (``'"3"'`` -> 3)."""
    return int(str(etag).strip().strip('"'))


def conditional_write(
    read: Callable[[], Optional[T]],
    write: Callable[[Optional[T], Dict[str, str]], T],
    landed: Callable[[Optional[T], int], Optional[T]],
    version_of: Callable[[T], int],
    if_match: Optional[ETag],
) -> T:
    """A write that always carries a precondition, so that it is safe to repeat.

    With ``if_match`` that is the precondition. Without, the current state is read and the
    write made over it (``If-None-Match: *`` when there is none); if another client wrote in
    between (412), read again, up to WRITE_ROUNDS times. A 412 to a repeat of a write whose
    first answer was lost means it may have been ours: if the state now is exactly what it
    would have made, that is the success it was.

    Something that exists but cannot be read (a soft-deleted config) fails ``If-None-Match:
    *`` every time: the second time, the write goes without a precondition (and is never
    repeated), so that the registry says what is in the way.
    """
    last: Optional[PreconditionFailedError] = None
    absent_yet_present = False
    for _ in range(WRITE_ROUNDS):
        current = read()
        if if_match is not None:
            headers, expected = {"If-Match": etag_of(if_match)}, version_of_etag(if_match) + 1
        elif current is not None:
            headers, expected = {"If-Match": f'"{version_of(current)}"'}, version_of(current) + 1
        elif absent_yet_present:
            headers, expected = {}, 1
        else:
            headers, expected = {"If-None-Match": "*"}, 1
        try:
            return write(current, headers)
        except PreconditionFailedError as error:
            if error.after_retry:
                ours = landed(current, expected)
                if ours is not None:
                    return ours
            if if_match is not None:
                raise
            absent_yet_present = current is None
            last = error
    assert last is not None
    raise last
