"""Cursors are opaque and refuse garbage; the catalogue decodes and upcasts."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.catalog import Catalog, Event
from events.cursor import Cursor
from events.errors import InvalidCursor, UnknownEventType


@given(
    st.from_regex(r"[0-9a-f]{12}", fullmatch=True),
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
)
def test_a_cursor_round_trips(epoch: str, tx_id: int, position: int) -> None:
    cursor = Cursor(epoch, tx_id, position)
    assert Cursor.decode(cursor.encode()) == cursor


@given(st.text(max_size=300))
def test_garbage_is_an_invalid_cursor_never_a_crash(token: str) -> None:
    with contextlib.suppress(InvalidCursor):
        Cursor.decode(token)


@pytest.mark.parametrize("token", ["", "abc", "YzIuZS4xLjE", "x" * 500, "YzEuLjEuMQ"])
def test_malformed_cursors_are_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(token)


def test_the_catalogue_upcasts_step_by_step_and_refuses_what_it_cannot_read() -> None:
    catalog = Catalog()

    @catalog.register(name="Renamed", schema_version=3)
    class Renamed(Event):
        name: str
        reason: str

    @catalog.upcaster("Renamed", from_version=1)
    def _v1(data: dict[str, object]) -> dict[str, object]:
        return {"name": data["title"]}

    @catalog.upcaster("Renamed", from_version=2)
    def _v2(data: dict[str, object]) -> dict[str, object]:
        return {**data, "reason": "not recorded before v3"}

    raw_v1 = msgspec.json.encode({"title": "Sở Nội vụ"})
    assert catalog.decode("Renamed", 1, raw_v1) == Renamed(
        name="Sở Nội vụ", reason="not recorded before v3"
    )
    with pytest.raises(UnknownEventType):
        catalog.decode("Renamed", 4, raw_v1)
    with pytest.raises(UnknownEventType):
        catalog.decode("Vanished", 1, raw_v1)
    with pytest.raises(ValueError, match="twice"):
        catalog.register(name="Renamed")(Renamed)


def test_no_event_in_the_domain_catalogue_carries_a_float() -> None:
    from events.catalog import catalog

    for name in catalog._by_name:
        cls, _ = catalog.type_of(name)
        assert "float" not in str(msgspec.json.schema(cls)), name


def test_cursor_numbers_beyond_bigint_are_refused() -> None:
    import base64

    token = base64.urlsafe_b64encode(f"c1.abc.{2**63:x}.1".encode()).decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        Cursor.decode(token)


def test_an_event_type_with_a_float_field_is_refused_at_registration() -> None:
    catalog = Catalog()
    with pytest.raises(TypeError, match="float"):

        @catalog.register()
        class Rated(Event, frozen=True, kw_only=True):
            rate: float
