"""Opaque page tokens, beside the feed's cursors: where a listing's next page starts (the sort
key of its last row), handed out as `next` and taken back as `page`. Clients only pass them on."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar, overload

_PREFIX = "p1"
_SEPARATOR = "\x1f"

A = TypeVar("A")
B = TypeVar("B")


class InvalidPageToken(ValueError):
    """Not a token this API handed out (the HTTP layer answers 400 `invalid-page`)."""


def encode_page(*key: str) -> str:
    text = _SEPARATOR.join((_PREFIX, *key))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@overload
def decode_page(token: str, first: Callable[[str], A], /) -> tuple[A]: ...
@overload
def decode_page(
    token: str, first: Callable[[str], A], second: Callable[[str], B], /
) -> tuple[A, B]: ...
def decode_page(token: str, *fields: Callable[[str], object]) -> tuple[object, ...]:
    """The key `encode_page` wrote, each part read by its field's parser (`str`, `UUID`,
    `datetime.fromisoformat`); only the first part may hold the separator."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, rest = text.partition(_SEPARATOR)
        parts = rest.rsplit(_SEPARATOR, len(fields) - 1)
        if prefix != _PREFIX or len(parts) != len(fields):
            raise ValueError(prefix)
        return tuple(read(part) for read, part in zip(fields, parts, strict=True))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidPageToken("pass the `next` token of the previous page") from None
