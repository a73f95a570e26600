"""Vietnamese text as documents write it: NFC, look-alike letters, folding for search."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

# Documents mix the Icelandic eth (U+00D0/U+00F0) with the Vietnamese D with stroke.
_LOOK_ALIKES = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111", "\u0189": "\u0110"})
_SPACES = re.compile(r"\s+")
_CODE = re.compile(r"^[^\W_]+(?:[.&-][^\W_]+)*$")
_BIDI_AND_INVISIBLE = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)
"""Bidi controls (embeddings, overrides, isolates, marks) and invisible separators: they make a
text read differently from what it holds, so no name or text carries them."""


def normalize_text(text: str) -> str:
    """NFC, look-alike letters replaced, runs of white space collapsed, ends trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).translate(_LOOK_ALIKES)).strip()


def unsafe_character(text: str) -> str | None:
    """The first control character (other than white space, which `normalize_text` collapses),
    bidi control or invisible separator of `text`, or None when it has none."""
    for char in text:
        if char in _BIDI_AND_INVISIBLE:
            return char
        if unicodedata.category(char) in ("Cc", "Cs") and not char.isspace():
            return char
    return None


def fold(text: str) -> str:
    """Lower case without diacritics, for matching with or without them ("Sơn La" ~ "son la")."""
    decomposed = unicodedata.normalize("NFD", normalize_text(text).replace("đ", "d"))
    decomposed = decomposed.replace("Đ", "D")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def normalize_code(code: str) -> str | None:
    """A short code (BTGTU, SNV, BTGĐUK) in upper case without spaces, or None if malformed."""
    text = normalize_text(code).replace(" ", "").upper()
    if not 1 <= len(text) <= 32 or not _CODE.match(text):
        return None
    return text


@cache
def _prototypes() -> dict[str, str]:
    """UTS #39's confusable prototypes (services/data/confusables.txt, Unicode 13.0.0)."""
    text = (resources.files("services") / "data" / "confusables.txt").read_text(encoding="utf-8")
    prototypes = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            source, target = line.split(";")
            prototypes[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in target.split())
    return prototypes


def skeleton(text: str) -> str:
    """The confusable skeleton of UTS #39: NFD, each character replaced by its prototype, NFD
    again. Two strings that look alike share it (Latin `P`, Cyrillic `Р`, Greek `Ρ`)."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


def code_look(code: str) -> str:
    """What a short code looks like: the skeleton of its compatibility form (NFKC makes
    full-width `ＶＰＴＵ` plain `VPTU`), upper case. Siblings' codes must look different."""
    return skeleton(unicodedata.normalize("NFKC", code).upper())
