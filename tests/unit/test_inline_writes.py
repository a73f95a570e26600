"""Which commands append without a transaction of their own: those whose events no inline read
model writes (a progress report), while a registration keeps the directory in step with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from events.assignments import ProgressReported
from events.organisation import UnitRegistered
from projections.registry import INLINE, written_inline

AT = datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_a_progress_report_has_no_inline_rows_to_write() -> None:
    report = ProgressReported(assignment_id=uuid.uuid4(), note="đã triển khai", effective_at=AT)
    assert not written_inline([report])
    assert not any(isinstance(report, model.handles) for model in INLINE)


def test_a_registration_is_written_inline_even_beside_other_events() -> None:
    unit = UnitRegistered(
        unit_id=uuid.uuid4(), name="Ban Tuyên giáo", short_code="BTG", kind="party_board",
        parent_id=None,
    )  # fmt: skip
    report = ProgressReported(assignment_id=uuid.uuid4(), note="x", effective_at=AT)
    assert written_inline([report, unit])
    assert not written_inline([])
