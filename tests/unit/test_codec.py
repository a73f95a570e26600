"""Our canonical JSON is RFC 8785, checked against the reference implementation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from events.codec import canonical, envelope_jcs, tags_json, utc_text

# JSON without floats (events carry none), integers within JCS's exact range.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_matches_the_reference_implementation(value: object) -> None:
    assert canonical(value) == rfc8785.dumps(value)


def test_keys_outside_the_basic_plane_sort_by_utf16_code_units() -> None:
    value = {"\U0001f600": 1, "\ue000": 2, "a": 3}
    assert canonical(value) == rfc8785.dumps(value)
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000.
    assert canonical(value).index("😀".encode()) < canonical(value).index("\ue000".encode())


@given(
    data=st.dictionaries(st.text(max_size=5), json_values, max_size=4),
    metadata=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    stream=st.from_regex(r"[a-z]{1,8}-[a-z0-9]{1,12}", fullmatch=True),
    type_name=st.text(min_size=1, max_size=12),
    version=st.integers(1, 10**6),
    units=st.lists(st.uuids().map(str), max_size=3),
)
def test_the_assembled_envelope_is_the_jcs_of_the_whole(
    data: dict[str, object],
    metadata: dict[str, object],
    stream: str,
    type_name: str,
    version: int,
    units: list[str],
) -> None:
    event_id = str(uuid.uuid4())
    recorded_at = utc_text(datetime(2026, 11, 22, 2, 9, 17, 123456, tzinfo=UTC))
    assembled = envelope_jcs(
        stream_json=msgspec.json.encode(stream),
        version=version,
        event_id=event_id,
        type_name=type_name,
        schema_version=1,
        data=canonical(data),
        metadata=canonical(metadata),
        tags=tags_json("note", None, units),
        recorded_at=recorded_at,
    )
    whole = {
        "stream_id": stream,
        "version": version,
        "event_id": event_id,
        "type": type_name,
        "schema_version": 1,
        "data": data,
        "metadata": metadata,
        "tags": {"category": "note", "plan_id": None, "units": units},
        "recorded_at": recorded_at,
    }
    assert assembled == rfc8785.dumps(whole)


def test_recorded_at_is_utc_with_microseconds() -> None:
    from datetime import timedelta, timezone

    hanoi = timezone(timedelta(hours=7))
    assert utc_text(datetime(2022, 10, 16, 0, 0, tzinfo=hanoi)) == "2022-10-15T17:00:00.000000Z"
