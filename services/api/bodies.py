"""What a request body may be before any route parses it: a media type the route takes (415
otherwise), and for JSON at most MAX_DEPTH levels of nesting and no object naming a key twice
(400 otherwise). Runs as the app's `before_request`, ahead of litestar's own decoding, so that
msgspec never meets a body it would take wrongly (a duplicate key, last one wins; text/plain
parsed as JSON) or fail on with a RecursionError (a 500)."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from litestar import Request

from services.api.problems import Problem

JSON = "application/json"
MAX_DEPTH = 32
"""Arrays and objects nest at most 32 deep in a request body (the deepest route needs 4)."""
BODY_TYPES = "body_types"
"""The `opt` key of a route taking other media types than JSON: /units/import takes CSV."""

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def media_type(request: Request[Any, Any, Any]) -> str | None:
    """The request's Content-Type without its parameters, in lower case; None when absent."""
    value = request.headers.get("content-type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def too_deep(body: bytes, most: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `most` in a JSON text (strings skipped),
    without parsing it: linear, no recursion, and it stops at the first level too deep.
    Malformed JSON gives some answer; the parser refuses it after."""
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    return any(level > most for level in accumulate(_STEP[b] for b in brackets))


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return found


def check_json(body: bytes) -> None:
    """400 `json-too-deep` or `duplicate-json-key`; anything else malformed is left to the
    route's decoder, whose problems say where."""
    if too_deep(body):
        raise Problem(
            400,
            "json-too-deep",
            "JSON nested too deep",
            f"arrays and objects nest at most {MAX_DEPTH} levels deep",
        )
    try:
        json.loads(body, object_pairs_hook=_unique)
    except _DuplicateKey as duplicate:
        raise Problem(
            400,
            "duplicate-json-key",
            "Duplicate key in a JSON object",
            f"the key {duplicate.key[:100]!r} appears twice in one object",
        ) from None
    except (ValueError, RecursionError):
        return  # malformed: the route's decoder answers with its own 400


async def guard_body(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request`: a non-empty body must be of a media type its route takes
    (JSON, or what the route's `opt["body_types"]` lists), and JSON must be shallow and free
    of duplicate keys."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    body = await request.body()
    if not body:
        return
    taken: tuple[str, ...] = request.route_handler.opt.get(BODY_TYPES, (JSON,))
    kind = media_type(request)
    if kind not in taken:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"send the body as {' or '.join(taken)}"
            + (", with its Content-Type" if kind is None else f", not {kind[:100]}"),
        )
    if kind == JSON:
        check_json(body)
