"""Vietnamese document numbers: every number of the seeds, and a table of real forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.domain.docnumber import InvalidDocumentNumber, parse

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# written, form, number, kind, issuers, year, normalized, a warning expected
VALID = [
    ("334-KH/CB", "party", 334, "KH", ("CB",), None, "334-KH/CB", None),
    ("16-HD/BTGĐUK", "party", 16, "HD", ("BTGĐUK",), None, "16-HD/BTGĐUK", None),
    ("17-KH/BDVTW", "party", 17, "KH", ("BDVTW",), None, "17-KH/BDVTW", None),
    ("1293-CV/TU", "party", 1293, "CV", ("TU",), None, "1293-CV/TU", None),
    ("135-KH/TU", "party", 135, "KH", ("TU",), None, "135-KH/TU", None),
    ("05-CT/TW", "party", 5, "CT", ("TW",), None, "05-CT/TW", None),
    ("05-QC/BTCTU-BDVTU", "party", 5, "QC", ("BTCTU", "BDVTU"), None, "05-QC/BTCTU-BDVTU", None),
    ("36-HD/VPTW", "party", 36, "HD", ("VPTW",), None, "36-HD/VPTW", None),
    ("36–HD/VPTW", "party", 36, "HD", ("VPTW",), None, "36-HD/VPTW", "dash"),
    ("367 - QĐ/TWĐTN-VP", "party", 367, "QĐ", ("TWĐTN", "VP"), None, "367-QĐ/TWĐTN-VP", "spaces"),
    ("21-NQ/TW", "party", 21, "NQ", ("TW",), None, "21-NQ/TW", None),
    ("121-KL/TW", "party", 121, "KL", ("TW",), None, "121-KL/TW", None),
    ("35-CTr/TU", "party", 35, "CTr", ("TU",), None, "35-CTr/TU", None),
    ("35-ctr/tu", "party", 35, "CTr", ("TU",), None, "35-CTr/TU", None),
    ("12-TTr/BTGTU", "party", 12, "TTr", ("BTGTU",), None, "12-TTr/BTGTU", None),
    ("Số: 16-HD/BTG\u00d0UK", "party", 16, "HD", ("BTGĐUK",), None, "16-HD/BTGĐUK", "look-alike"),
    ("số 334-KH/CB", "party", 334, "KH", ("CB",), None, "334-KH/CB", None),
    ("107/KH-SNV", "state", 107, "KH", ("SNV",), None, "107/KH-SNV", None),
    ("375/UBND-NV", "state", 375, None, ("UBND", "NV"), None, "375/UBND-NV", None),
    ("30/2020/NĐ-CP", "state", 30, "NĐ", ("CP",), 2020, "30/2020/NĐ-CP", None),
    ("1234/BGDĐT-VP", "state", 1234, None, ("BGDĐT", "VP"), None, "1234/BGDĐT-VP", None),
    ("45/2019/QH14", "state", 45, None, ("QH14",), 2019, "45/2019/QH14", None),
    ("105/TB-VPCP", "state", 105, "TB", ("VPCP",), None, "105/TB-VPCP", None),
    ("01/2021/TT-BNV", "state", 1, "TT", ("BNV",), 2021, "01/2021/TT-BNV", None),
    ("2345/QĐ-UBND", "state", 2345, "QĐ", ("UBND",), None, "2345/QĐ-UBND", None),
    ("15/CT-TTg", "state", 15, "CT", ("TTG",), None, "15/CT-TTG", None),
    ("12/2022/QĐ-UBND", "state", 12, "QĐ", ("UBND",), 2022, "12/2022/QĐ-UBND", None),
    ("99/TTr-SNV", "state", 99, "TTr", ("SNV",), None, "99/TTr-SNV", None),
    ("07/CĐ-TTg", "state", 7, "CĐ", ("TTG",), None, "07/CĐ-TTG", None),
    ("107 / KH - SNV", "state", 107, "KH", ("SNV",), None, "107/KH-SNV", "spaces"),
    ("107／KH-SNV", "state", 107, "KH", ("SNV",), None, "107/KH-SNV", "slash"),
    ("8-KH/CB", "party", 8, "KH", ("CB",), None, "8-KH/CB", None),
    ("07-TB/XDĐ", "party", 7, "TB", ("XDĐ",), None, "07-TB/XDĐ", None),
]

INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    ("abc", "not a document number"),
    ("334", "not a document number"),
    ("KH-334/CB", "not a document number"),
    ("334-KH", "not a document number"),
    ("334-KH/", "not a document number"),
    ("0-KH/TU", "start at 1"),
    ("334-XYZ/CB", "not a kind of Party document"),
    ("334--KH/CB", "two separators"),
    ("107//KH-SNV", "two separators"),
    ("334-KH/C B", "no spaces"),
    ("30/1890/NĐ-CP", "plausible year"),
    ("1234567-KH/TU", "not a document number"),
    ("334-KH/CB_1", "not a document number"),
    ("x" * 81, "at most 80"),
    ("334-KH/ABCDEFGHIJKLMNOPQRSTUVWXYZ", "too long"),
]


@pytest.mark.parametrize(
    ("written", "form", "number", "kind", "issuers", "year", "normalized", "warning"), VALID
)
def test_real_forms_parse_into_their_parts(
    written: str,
    form: str,
    number: int,
    kind: str | None,
    issuers: tuple[str, ...],
    year: int | None,
    normalized: str,
    warning: str | None,
) -> None:
    parsed = parse(written)
    assert parsed.written == written
    assert (parsed.form, parsed.number, parsed.kind, parsed.issuers, parsed.year) == (
        form,
        number,
        kind,
        issuers,
        year,
    )
    assert parsed.normalized == normalized
    if warning is None:
        assert parsed.warnings == ()
    else:
        assert any(warning in w for w in parsed.warnings), parsed.warnings


@pytest.mark.parametrize(("written", "reason"), INVALID)
def test_garbage_is_refused_with_the_reason(written: str, reason: str) -> None:
    with pytest.raises(InvalidDocumentNumber, match=reason):
        parse(written)


def test_the_table_holds_at_least_thirty_real_forms() -> None:
    assert len(VALID) + len(INVALID) >= 30 and len(VALID) >= 30


_IN_TEXT = re.compile(r"\b\d{1,5}\s?[-–/]\s?[A-ZĐÐ][A-Za-zĐđÐ]*(?:[-/][A-ZĐÐ0-9][A-Za-z0-9ĐđÐ]*)+")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_every_document_number_in_the_seeds_parses() -> None:
    found = {
        match.group(0)
        for seed in sorted(SEEDS.glob("*.txt"))
        for match in _IN_TEXT.finditer(seed.read_text(encoding="utf-8"))
    }
    expected = {
        "334-KH/CB",
        "16-HD/BTGĐUK",
        "17-KH/BDVTW",
        "1293-CV/TU",
        "135-KH/TU",
        "375/UBND-NV",
        "107/KH-SNV",
        "05-CT/TW",
    }
    assert expected <= found, found
    for written in found:
        parsed = parse(written)
        assert parsed.number == int(re.match(r"\d+", written)[0])  # type: ignore[index]
        assert parsed.form == ("party" if re.match(r"\d+\s?[-–]", written) else "state")


@pytest.mark.parametrize(
    ("written", "warnings"),
    [
        ("So\u0302\u0301 334-KH/CB", ("text was not in NFC",)),
        ("16-HD/BTG\u00d0UK", ("look-alike letter Ð replaced by Đ",)),
        ("16-HD/BTG\u0189UK", ("look-alike letter Ð replaced by Đ",)),
        (
            "Số: 36 – HD／VPTW",
            (
                "a dash other than '-' was used",
                "a slash other than '/' was used",
                "spaces around separators",
            ),
        ),
    ],
)
def test_each_oddity_normalised_is_named_in_a_warning(
    written: str, warnings: tuple[str, ...]
) -> None:
    parsed = parse(written)
    assert parsed.warnings == warnings
    assert parsed.normalized in ("334-KH/CB", "16-HD/BTGĐUK", "36-HD/VPTW")


def test_the_limits_of_length_issuer_code_and_year_are_inclusive() -> None:
    twenty = "A" * 20
    longest = f"1-KH/{twenty}-{twenty}-{twenty}-{'B' * 12}"
    assert len(longest) == 80 and parse(longest).issuers == (twenty, twenty, twenty, "B" * 12)
    with pytest.raises(InvalidDocumentNumber) as error:
        parse(f"1-KH/{twenty}C")
    assert str(error.value) == f"'1-KH/{twenty}C': issuer code '{twenty}C' is too long"
    with pytest.raises(InvalidDocumentNumber) as error:
        parse(f"1/KH-{twenty}C")
    assert str(error.value).startswith(f"'1/KH-{twenty}C': ")
    assert [parse(f"5/{year}/NĐ-CP").year for year in (1945, 2100)] == [1945, 2100]
    for year in (1944, 2101):
        with pytest.raises(InvalidDocumentNumber, match=f"{year} is not a plausible year"):
            parse(f"5/{year}/NĐ-CP")


def test_a_lone_code_after_the_number_is_the_issuer_not_a_kind() -> None:
    # "12/TB": an official letter of the unit TB, not a notice without an issuer.
    parsed = parse("12/TB")
    assert (parsed.kind, parsed.issuers, parsed.normalized) == (None, ("TB",), "12/TB")


def test_a_state_kind_in_the_party_form_is_refused_listing_the_party_kinds() -> None:
    with pytest.raises(InvalidDocumentNumber) as error:
        parse("12-NĐ/TW")
    assert str(error.value) == (
        "'12-NĐ/TW': 'NĐ' is not a kind of Party document "
        "(BB, BC, CT, CTr, CV, GGT, GM, HD, KH, KL, NQ, QC, QĐ, TB, TC, TT, TTr, ĐA)"
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("", "the document number is empty"),
        ("x" * 81, "a document number has at most 80 characters"),
        (
            "abc",
            "'abc' is not a document number: expected the Party form 334-KH/CB or the state "
            "form 107/KH-SNV, 30/2020/NĐ-CP, 1234/BGDĐT-VP",
        ),
    ],
)
def test_a_refusal_says_what_is_wrong_in_words(written: str, message: str) -> None:
    with pytest.raises(InvalidDocumentNumber) as error:
        parse(written)
    assert str(error.value) == message
