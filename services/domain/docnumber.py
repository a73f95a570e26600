"""Vietnamese document numbers ("số, ký hiệu"), as Party and state bodies write them.

Party form (Hướng dẫn 36-HD/VPTW):  334-KH/CB, 05-QC/BTCTU-BDVTU, 1293-CV/TU
    number - kind / issuer[-issuer or drafting unit...]
State form (Nghị định 30/2020/NĐ-CP): 107/KH-SNV, 30/2020/NĐ-CP, 45/2019/QH14, 1234/BGDĐT-VP
    number [/ year] / [kind-] issuer[-department...]; an official letter (công văn) has no kind.

The text is kept as written; the parts, a normalised text and the number as shown (`shown`:
as written, less a leading "Số:", odd dashes and the spaces around its separators) are derived.
Dashes, spaces, NFC and look-alike letters are normalised, with a warning naming what was odd.
Garbage is refused with the reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from services.domain.text import normalize_text

PARTY_KINDS = {
    "NQ": "Nghị quyết",
    "QĐ": "Quyết định / Quy định",
    "CT": "Chỉ thị",
    "KL": "Kết luận",
    "QC": "Quy chế",
    "TT": "Thông tri",
    "HD": "Hướng dẫn",
    "BC": "Báo cáo",
    "KH": "Kế hoạch",
    "CTr": "Chương trình",
    "TB": "Thông báo",
    "TTr": "Tờ trình",
    "CV": "Công văn",
    "BB": "Biên bản",
    "ĐA": "Đề án",
    "TC": "Thông cáo",
    "GM": "Giấy mời",
    "GGT": "Giấy giới thiệu",
}
STATE_KINDS = {
    "NQ": "Nghị quyết",
    "QĐ": "Quyết định",
    "CT": "Chỉ thị",
    "QC": "Quy chế",
    "QyĐ": "Quy định",
    "TC": "Thông cáo",
    "TB": "Thông báo",
    "HD": "Hướng dẫn",
    "CTr": "Chương trình",
    "KH": "Kế hoạch",
    "PA": "Phương án",
    "ĐA": "Đề án",
    "DA": "Dự án",
    "BC": "Báo cáo",
    "BB": "Biên bản",
    "TTr": "Tờ trình",
    "HĐ": "Hợp đồng",
    "CĐ": "Công điện",
    "BGN": "Bản ghi nhớ",
    "BTT": "Bản thỏa thuận",
    "GUQ": "Giấy ủy quyền",
    "GM": "Giấy mời",
    "GGT": "Giấy giới thiệu",
    "GNP": "Giấy nghỉ phép",
    "PG": "Phiếu gửi",
    "PC": "Phiếu chuyển",
    "PB": "Phiếu báo",
    "NĐ": "Nghị định",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "NQLT": "Nghị quyết liên tịch",
    "L": "Luật",
    "PL": "Pháp lệnh",
    "SL": "Sắc lệnh",
}
_CANONICAL_KIND = {k.upper(): k for k in (*PARTY_KINDS, *STATE_KINDS)}

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SLASHES = "\u2044\u2215\uff0f"
_PREFIX = re.compile(r"^(?:s[ốô]|so)\s*[:.]?\s*", re.IGNORECASE)
_TOKEN = r"[^\W_]+"
_PARTY = re.compile(rf"^(\d{{1,6}})-({_TOKEN})/({_TOKEN}(?:-{_TOKEN})*)$")
_STATE = re.compile(rf"^(\d{{1,6}})/(?:(\d{{4}})/)?({_TOKEN}(?:-{_TOKEN})*)$")


class InvalidDocumentNumber(ValueError):
    """Not a document number; the message says why."""


@dataclass(frozen=True)
class DocumentNumber:
    written: str
    normalized: str
    form: Literal["party", "state"]
    number: int
    kind: str | None
    issuers: tuple[str, ...]
    year: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def issuer_code(self) -> str:
        return "-".join(self.issuers)

    @property
    def shown(self) -> str:
        return _clean(self.written, [])


def shown(text: str) -> str:
    """A number as a view shows it ("Số: 111 / CV-UBND" as 111/CV-UBND); text that is not a
    number, as it is."""
    try:
        return parse(text).shown
    except InvalidDocumentNumber:
        return text


def _clean(text: str, warnings: list[str]) -> str:
    cleaned = normalize_text(text)
    if unicodedata.normalize("NFC", text) != text:
        warnings.append("text was not in NFC")
    if any(c in text for c in "\u00d0\u00f0\u0189"):
        warnings.append("look-alike letter Ð replaced by Đ")
    cleaned = _PREFIX.sub("", cleaned)
    if any(c in cleaned for c in _DASHES):
        warnings.append("a dash other than '-' was used")
        cleaned = cleaned.translate({ord(c): "-" for c in _DASHES})
    if any(c in cleaned for c in _SLASHES):
        warnings.append("a slash other than '/' was used")
        cleaned = cleaned.translate({ord(c): "/" for c in _SLASHES})
    spaced = re.sub(r"\s*([-/])\s*", r"\1", cleaned)
    if spaced != cleaned:
        warnings.append("spaces around separators")
    if " " in spaced:
        raise InvalidDocumentNumber(f"{text!r}: a document number has no spaces inside its parts")
    return spaced


def _issuers(parts: str, text: str) -> tuple[str, ...]:
    issuers = tuple(p.upper() for p in parts.split("-"))
    for issuer in issuers:
        if len(issuer) > 20:
            raise InvalidDocumentNumber(f"{text!r}: issuer code {issuer!r} is too long")
    return issuers


def parse(text: str) -> DocumentNumber:
    """Parse a document number as written; InvalidDocumentNumber says what is wrong."""
    if not text or not text.strip():
        raise InvalidDocumentNumber("the document number is empty")
    if len(text) > 80:
        raise InvalidDocumentNumber("a document number has at most 80 characters")
    warnings: list[str] = []
    cleaned = _clean(text, warnings)
    if re.search(r"[-/]{2,}", cleaned):
        raise InvalidDocumentNumber(f"{text!r}: two separators in a row")
    if party := _PARTY.match(cleaned):
        number, kind, issuers = int(party[1]), party[2], _issuers(party[3], text)
        canonical = _CANONICAL_KIND.get(kind.upper())
        if canonical is None or canonical not in PARTY_KINDS:
            raise InvalidDocumentNumber(
                f"{text!r}: {kind!r} is not a kind of Party document "
                f"({', '.join(sorted(PARTY_KINDS))})"
            )
        normalized = f"{party[1]}-{canonical}/{'-'.join(issuers)}"
        result = DocumentNumber(
            text, normalized, "party", number, canonical, issuers, warnings=tuple(warnings)
        )
    elif state := _STATE.match(cleaned):
        number = int(state[1])
        year = int(state[2]) if state[2] else None
        tokens = state[3].split("-")
        canonical = _CANONICAL_KIND.get(tokens[0].upper())
        # An official letter has no kind code in NĐ 30, yet offices often write one: 111/CV-UBND.
        stated = canonical in STATE_KINDS or canonical == "CV"
        kind = canonical if stated and len(tokens) > 1 else None
        issuers = _issuers("-".join(tokens[1:] if kind else tokens), text)
        if year is not None and not 1945 <= year <= 2100:
            raise InvalidDocumentNumber(f"{text!r}: {year} is not a plausible year")
        head = f"{state[1]}/{state[2]}/" if year else f"{state[1]}/"
        normalized = head + "-".join(([kind] if kind else []) + list(issuers))
        result = DocumentNumber(
            text, normalized, "state", number, kind, issuers, year, tuple(warnings)
        )
    else:
        raise InvalidDocumentNumber(
            f"{text!r} is not a document number: expected the Party form 334-KH/CB or the "
            "state form 107/KH-SNV, 30/2020/NĐ-CP, 1234/BGDĐT-VP"
        )
    if result.number == 0:
        raise InvalidDocumentNumber(f"{text!r}: numbers start at 1")
    return result
