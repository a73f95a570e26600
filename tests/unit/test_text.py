from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.domain.text import fold, normalize_code, normalize_text


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ban Tuyên giáo Thành ủy Cần Thơ", "ban tuyen giao thanh uy can tho"),
        ("ĐẢNG ỦY KHỐI", "dang uy khoi"),
        ("\u00d0oàn Văn Tú", "doan van tu"),
        ("Sơn La", "son la"),
    ],
)
def test_folding_matches_with_or_without_diacritics(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_decomposed_and_composed_text_normalise_alike() -> None:
    assert normalize_text("Tuye\u0302n  gia\u0301o ") == "Tuyên giáo"


@pytest.mark.parametrize(
    ("code", "normal"),
    [
        ("btgtu", "BTGTU"),
        (" BTGĐUK ", "BTGĐUK"),
        ("TWĐTN-VP", "TWĐTN-VP"),
        ("b t g", "BTG"),
        ("A_B", None),
        ("", None),
        ("-A", None),
        ("X" * 33, None),
    ],
)
def test_short_codes(code: str, normal: str | None) -> None:
    assert normalize_code(code) == normal


@given(st.text(max_size=50))
def test_folding_is_idempotent_and_never_fails(text: str) -> None:
    assert fold(fold(text)) == fold(text)
