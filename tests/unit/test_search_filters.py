"""The WHERE clause a search builds from its optional filters (GET /plans, GET /units)."""

from __future__ import annotations

from projections.filters import Filters, escape_like


def test_no_filter_gives_no_where_clause() -> None:
    assert Filters().where == ""


def test_filters_are_joined_by_and_their_values_numbered_in_order() -> None:
    filters = Filters()
    filters.add(f"status = {filters.param('issued')}")
    filters.add(f"issuer_unit_id = {filters.param('u-1')}")
    assert filters.where == "WHERE status = $1 AND issuer_unit_id = $2"
    assert filters.params == ["issued", "u-1"]


def test_a_searched_text_matches_its_percent_underscore_and_backslash_literally() -> None:
    assert escape_like("50%_off\\x") == "50\\%\\_off\\\\x"
    assert escape_like("Sơn La") == "Sơn La"
