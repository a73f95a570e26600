"""Short codes up to 32 characters, and which characters a name or text may not hold."""

from __future__ import annotations

from services.domain.text import fold, normalize_code, unsafe_character


def test_a_short_code_has_up_to_32_characters() -> None:
    assert normalize_code("X" * 32) == "X" * 32
    assert normalize_code("X" * 33) is None
    assert normalize_code("V") == "V"


def test_white_space_is_not_unsafe_but_controls_and_invisible_separators_are() -> None:
    assert unsafe_character("Kế hoạch\tsố 1\nngày\r2") is None
    assert unsafe_character("a\u200bb\x07") == "\u200b"
    assert unsafe_character("a\x07b") == "\x07"
    assert unsafe_character("a\ud800b") == "\ud800"


def test_a_capital_d_with_stroke_folds_to_d() -> None:
    assert fold("ĐƯỜNG Đ") == "duong d"
