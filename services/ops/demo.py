"""`campaign demo`: the five seed campaigns entered through the same commands a user sends, as
the import path (the operator), with their real dates in the past. Every step carries a
deterministic id and Idempotency-Key, so a second run appends nothing."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from events.assignments import Outcome
from events.plans import Phase, Recipient, ReviewStep, Signer
from events.store import EventStore
from projections import unit_directory
from services.domain.assignment import (
    DecideExtension,
    FileSubmission,
    IssueAssignment,
    RaiseObstacle,
    ReportProgress,
    RequestExtension,
    ResolveObstacle,
    Review,
)
from services.domain.calendar import VIETNAM
from services.domain.model import CommendModel, RegisterModel, ReportModel
from services.domain.plan import DraftPlan, ImplementsRef
from services.domain.unit import ImportedUnit, MergeUnit, MoveUnit, RegisterUnit
from services.handlers import assignments, models, plans, units
from services.handlers.auth import OPERATOR
from services.handlers.command_path import CommandContext, Handler, execute
from services.ops.demo_data import (
    NOT_IN_SEEDS,
    PLANS,
    PROGRESS_2020,
    REORGANISATION,
    UNITS,
    DemoPlan,
)

log = structlog.get_logger(__name__)
NAMESPACE = uuid.UUID("6c1d1f5e-3b8e-4f7e-9a55-2c7d0a0b5e11")


def demo_id(name: str) -> UUID:
    return uuid.uuid5(NAMESPACE, f"campaign-ledger-demo:{name}")


def at(day: str, hour: int = 9) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), VIETNAM) + timedelta(
        hours=hour
    )


class Loader:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.appended = 0
        self.steps = 0

    async def step(self, key: str, when: datetime, handler: Handler) -> str:
        context = CommandContext(
            OPERATOR,
            when,
            correlation_id=str(demo_id("correlation")),
            idempotency_key=f"demo:{key}",
            request_hash=hashlib.sha256(f"demo:{key}".encode()).digest(),
            entering_history=True,
        )
        answer = await execute(self.store, context, handler)
        self.steps += 1
        return answer.id

    async def run(self) -> None:
        await self.units()
        for plan in PLANS:
            await self.plan(plan)
        await self.history()
        await self.reorganisation()

    async def units(self) -> None:
        """The seeds' units. In a database whose own top units already use a code of the
        demo's (another province's "TU"), the demo's top units go under a unit of their own,
        "Dữ liệu mẫu", so that the demo loads beside what is there."""
        roots = [u for u in UNITS if u.parent is None]
        taken = await unit_directory.top_codes_taken(
            self.store.pool,
            [u.short_code for u in roots],
            [demo_id(f"unit:{u.ref}") for u in roots],
        )
        rows = []
        if taken:
            rows.append(
                ImportedUnit(DEMO_ROOT, demo_id("unit:demo"), "Dữ liệu mẫu", "MAU", "other")
            )
        for u in UNITS:
            parent = u.parent or (DEMO_ROOT if taken else None)
            rows.append(
                ImportedUnit(u.ref, demo_id(f"unit:{u.ref}"), u.name, u.short_code, u.kind, parent)
            )
        await self.step("units", at("2019-05-06", 8), units.import_handler(rows, OPERATOR))

    async def plan(self, plan: DemoPlan) -> None:
        plan_id = demo_id(f"plan:{plan.ref}")
        issued = at(plan.issued_on, 8)
        draft = DraftPlan(
            plan_id=plan_id,
            kind=plan.kind,
            title=plan.title,
            issuer_unit_id=demo_id(f"unit:{plan.issuer}"),
            implements=tuple(
                ImplementsRef(number=number, issued_on=date.fromisoformat(day) if day else None)
                for number, day, _ in plan.implements
            ),
            phases=tuple(Phase(phase_id=i, name=n, bounds=b) for i, n, b in plan.phases),
            recipients=tuple(
                Recipient(unit_id=demo_id(f"unit:{ref}"), role=role)
                for ref, role in plan.recipients
            ),
        )
        await self.step(
            f"draft:{plan.ref}", issued, plans.handler(draft, OPERATOR, self.store.pool)
        )
        name, title, authority, behalf = plan.signer
        issue = plans.Issue(
            plan_id=plan_id,
            number=plan.number,
            place=plan.place,
            signer=Signer(name=name, title=title, authority=authority, on_behalf_of=behalf),
            now=issued,
            issued_on=date.fromisoformat(plan.issued_on),
            effective_at=issued,
        )
        await self.step(
            f"issue:{plan.ref}",
            issued + timedelta(hours=1),
            plans.handler(issue, OPERATOR, self.store.pool),
        )
        for task in plan.tasks:
            command = IssueAssignment(
                assignment_id=demo_id(f"task:{task.ref}"),
                plan_id=plan_id,
                item=task.item,
                text=task.text,
                lead_unit_id=demo_id(f"unit:{task.lead}"),
                due=datetime.fromisoformat(task.due),
                now=issued + timedelta(hours=2),
                effective_at=issued + timedelta(hours=2),
                report_to_unit_id=demo_id(f"unit:{task.report_to}") if task.report_to else None,
                coordinating_unit_ids=tuple(demo_id(f"unit:{c}") for c in task.coordinating),
                review_steps=task.review_steps,
            )
            await self.step(
                f"task:{task.ref}",
                issued + timedelta(hours=2),
                assignments.issue_handler([command], OPERATOR),
            )

    async def task(self, key: str, when: datetime, command: Any) -> str:
        return await self.step(key, when, assignments.handler(command, OPERATOR))

    def file(self, ref: str, text: str, when: datetime, **extra: Any) -> FileSubmission:
        return FileSubmission(
            demo_id(f"task:{ref}"),
            demo_id(f"submission:{ref}:{text}"),
            text,
            when,
            when,
            **extra,
        )

    def review(
        self,
        ref: str,
        text: str,
        step: ReviewStep,
        outcome: Outcome,
        when: datetime,
        comments: str | None = None,
    ) -> Review:
        return Review(
            demo_id(f"task:{ref}"),
            demo_id(f"submission:{ref}:{text}"),
            step,
            outcome,
            when,
            comments,
        )

    async def history(self) -> None:
        t = self.task
        # 1293-CV/TU (seed 001): the press reports on 14/05/2019; the film is appraised and
        # approved; the Department of Planning raises an obstacle, answered by the standing
        # office, and never reports. The propaganda board reports late, on 19-6-2020, with the
        # figures of its meeting (seed 002): 60/85 tasks, 469 works worth 626 billion đồng.
        may14 = at("2019-05-14", 10)
        await t("1293-2a:file", may14, self.file("1293-2a", "Kế hoạch tuyên truyền của Báo", may14))
        await t(
            "1293-2a:approve",
            may14 + timedelta(hours=4),
            self.review(
                "1293-2a",
                "Kế hoạch tuyên truyền của Báo",
                "approval",
                "approved",
                may14 + timedelta(hours=4),
            ),
        )
        await t("1293-2b:file", may14, self.file("1293-2b", "Phim tài liệu (bản dựng)", may14))
        steps: tuple[ReviewStep, ...] = ("appraisal", "approval")
        for step_name in steps:
            await t(
                f"1293-2b:{step_name}",
                may14 + timedelta(hours=5),
                self.review(
                    "1293-2b",
                    "Phim tài liệu (bản dựng)",
                    step_name,
                    "approved",
                    may14 + timedelta(hours=5),
                ),
            )
        obstacle = demo_id("obstacle:1293-3")
        await t(
            "1293-3:obstacle",
            may14,
            RaiseObstacle(
                demo_id("task:1293-3"),
                obstacle,
                "Khó khăn, vướng mắc trong thống kê số liệu kinh tế - xã hội",
                may14,
            ),
        )
        await t(
            "1293-3:resolve",
            may14 + timedelta(hours=6),
            ResolveObstacle(
                demo_id("task:1293-3"),
                obstacle,
                "Thường trực Thành ủy chỉ đạo phối hợp cung cấp số liệu",
                may14 + timedelta(hours=6),
            ),
        )
        june19 = at("2020-06-19", 14)
        await t(
            "1293-1:progress",
            june19,
            ReportProgress(
                demo_id("task:1293-1"),
                "Hội nghị giao ban công tác tuyên giáo 6 tháng đầu năm 2020",
                june19,
                70,
                dict(PROGRESS_2020),
            ),
        )
        await t(
            "1293-1:file",
            june19,
            self.file(
                "1293-1",
                "Báo cáo kết quả công tác tuyên truyền Đại hội",
                june19,
                metrics=dict(PROGRESS_2020),
            ),
        )
        await t(
            "1293-1:approve",
            june19 + timedelta(hours=3),
            self.review(
                "1293-1",
                "Báo cáo kết quả công tác tuyên truyền Đại hội",
                "approval",
                "approved",
                june19 + timedelta(hours=3),
            ),
        )

        # 227-KH/TU (seed 000): the office, the newspaper and the radio report on 27/08/2020;
        # the Mass Mobilisation board never does.
        aug27 = at("2020-08-27", 15)
        for ref in ("227-2", "227-3a", "227-3b"):
            await t(f"{ref}:file", aug27, self.file(ref, "Báo cáo kết quả", aug27))
            await t(
                f"{ref}:approve",
                aug27 + timedelta(hours=1),
                self.review(
                    ref, "Báo cáo kết quả", "approval", "approved", aug27 + timedelta(hours=1)
                ),
            )

        # 334-KH/CB (seed 003): the union reports on 15/10/2022 and is approved; party group 1
        # is sent back for changes, asks for a day more (granted), reports again on 16/10/2022;
        # the cell's consolidated report of 16/10/2022 aggregates both.
        oct15, oct16, oct17 = at("2022-10-15", 9), at("2022-10-16", 9), at("2022-10-17", 9)
        await t(
            "334-2a:file",
            oct15,
            self.file("334-2a", "Báo cáo mô hình Dân vận khéo", oct15, metrics={"models": 1}),
        )
        await t(
            "334-2a:approve",
            oct15 + timedelta(hours=2),
            self.review(
                "334-2a",
                "Báo cáo mô hình Dân vận khéo",
                "approval",
                "approved",
                oct15 + timedelta(hours=2),
            ),
        )
        await t(
            "334-2b:file",
            oct15,
            self.file("334-2b", "Báo cáo mô hình", oct15, metrics={"models": 1}),
        )
        await t(
            "334-2b:changes",
            oct15 + timedelta(hours=3),
            self.review(
                "334-2b",
                "Báo cáo mô hình",
                "approval",
                "changes_requested",
                oct15 + timedelta(hours=3),
                "Bổ sung kết quả mô hình đã đăng ký",
            ),
        )
        extension = demo_id("extension:334-2b")
        await t(
            "334-2b:extension",
            oct15 + timedelta(hours=4),
            RequestExtension(
                demo_id("task:334-2b"),
                extension,
                datetime.fromisoformat("2022-10-17T00:00:00+07:00"),
                "Bổ sung số liệu theo yêu cầu của Ban Chi ủy",
                oct15 + timedelta(hours=4),
            ),
        )
        await t(
            "334-2b:granted",
            oct15 + timedelta(hours=5),
            DecideExtension(
                demo_id("task:334-2b"), extension, True, oct15 + timedelta(hours=5), "Đồng ý"
            ),
        )
        await t(
            "334-2b:refile",
            oct16,
            self.file("334-2b", "Báo cáo mô hình (bổ sung)", oct16, metrics={"models": 2}),
        )
        await t(
            "334-2b:approve",
            oct16 + timedelta(hours=1),
            self.review(
                "334-2b",
                "Báo cáo mô hình (bổ sung)",
                "approval",
                "approved",
                oct16 + timedelta(hours=1),
            ),
        )
        await t(
            "334-1:file",
            oct16 + timedelta(hours=6),
            self.file(
                "334-1",
                "Báo cáo tổng hợp kết quả công tác dân vận",
                oct16 + timedelta(hours=6),
                sources=(demo_id("task:334-2a"), demo_id("task:334-2b")),
            ),
        )
        await t(
            "334-1:approve",
            oct17 - timedelta(hours=1),
            self.review(
                "334-1",
                "Báo cáo tổng hợp kết quả công tác dân vận",
                "approval",
                "approved",
                oct17 - timedelta(hours=1),
            ),
        )

        # The model "Dân vận khéo" registered in 2022 by party group 1, reported, commended.
        model = demo_id("model:334")
        await self.step(
            "model:register",
            oct15,
            models.handler(
                RegisterModel(
                    model,
                    demo_id("unit:sl-t1"),
                    2022,
                    "Dân vận khéo",
                    "collective",
                    "Mô hình Dân vận khéo của Tổ đảng tổ 1",
                    oct15,
                    oct15,
                ),
                OPERATOR,
            ),
        )
        await self.step(
            "model:report",
            oct15,
            models.handler(
                ReportModel(
                    model,
                    demo_id("model-report:334"),
                    "Kết quả xây dựng mô hình Dân vận khéo",
                    oct15,
                    oct15,
                    {"models": 2},
                ),
                OPERATOR,
            ),
        )
        await self.step(
            "model:commend",
            oct17,
            models.handler(
                CommendModel(
                    model,
                    "grassroots",
                    demo_id("unit:sl-cb"),
                    "Tuyên dương điển hình Dân vận khéo",
                    oct17,
                    oct17,
                ),
                OPERATOR,
            ),
        )

    async def reorganisation(self) -> None:
        ref, name, code, kind = REORGANISATION["successor"]
        when = at(str(REORGANISATION["on"]), 9)
        successor = demo_id(f"unit:{ref}")
        await self.step(
            "reorg:register",
            when,
            units.handler(
                RegisterUnit(successor, name, code, kind, demo_id("unit:ct-tu")),
                OPERATOR,
                self.store.pool,
                when,
            ),
        )
        for merged in REORGANISATION["merged"]:
            await self.step(
                f"reorg:merge:{merged}",
                when,
                units.handler(
                    MergeUnit(demo_id(f"unit:{merged}"), successor, "Hợp nhất năm 2025"),
                    OPERATOR,
                    self.store.pool,
                    when,
                ),
            )
        moved, to = REORGANISATION["moved"]
        await self.step(
            "reorg:move",
            when,
            units.handler(
                MoveUnit(demo_id(f"unit:{moved}"), demo_id(f"unit:{to}"), "Sắp xếp năm 2025"),
                OPERATOR,
                self.store.pool,
                when,
            ),
        )


DEMO_ROOT = "demo"
"""The ref of the unit the demo's top units go under when their codes are taken at the top."""


async def load_demo(store: EventStore) -> int:
    """Load the demo; returns how many events this run appended (0 on a second run)."""
    before = await store.count_events()
    loader = Loader(store)
    await loader.run()
    after = await store.count_events()
    log.info("demo loaded", steps=loader.steps, appended=after - before)
    return after - before


__all__ = ["NOT_IN_SEEDS", "load_demo"]
