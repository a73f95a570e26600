"""Vietnamese text as documents write it: NFC, look-alike letters, folding for search."""

from __future__ import annotations

import re
import unicodedata

# Documents mix the Icelandic eth (U+00D0/U+00F0) with the Vietnamese D with stroke.
_LOOK_ALIKES = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111", "\u0189": "\u0110"})
_SPACES = re.compile(r"\s+")
_CODE = re.compile(r"^[^\W_]+(?:[.&-][^\W_]+)*$")


def normalize_text(text: str) -> str:
    """NFC, look-alike letters replaced, runs of white space collapsed, ends trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).translate(_LOOK_ALIKES)).strip()


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
