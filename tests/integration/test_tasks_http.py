"""Tasks over HTTP on real PostgreSQL: the seed 003 story of the Sơn La cell, end to end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx
import pytest

import events.assignments  # noqa: F401 - registers the tasks' events
from events.assignments import (
    AssignmentAcknowledged,
    AssignmentCompleted,
    AssignmentIssued,
    Source,
    SubmissionFiled,
    SubmissionReviewed,
)
from events.deadlines import DeadlineScheduled, ScheduledStep
from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

HANOI = timezone(timedelta(hours=7))


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def set(self, day: int, hour: int, minute: int = 0) -> None:
        self.now = datetime(2022, 10, day, hour, minute, tzinfo=HANOI)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2022, 10, 12, 9, 0, tzinfo=HANOI))


@pytest.fixture
def app(pool: asyncpg.Pool[Any], clock: Clock) -> Any:
    return create_app(load_settings({}), pool=pool, clock=clock)


PLAN_TITLE = (
    "Triển khai hướng dẫn tuyên truyền kỷ niệm 92 năm Ngày truyền thống công tác dân vận của "
    "Đảng; 23 năm Ngày Dân vận của cả nước"
)
ITEM_2 = (
    "Báo cáo kết quả triển khai xây dựng mô hình Dân vận khéo đã đăng ký năm 2022 về Ban Chi "
    "ủy để tổng hợp"
)
ITEM_1 = (
    "Tổng hợp báo cáo kết quả tổ chức các hoạt động kỷ niệm và báo cáo kết quả công tác dân vận"
)

CELL_TREE = {
    "units": [
        {
            "ref": "du",
            "name": "Đảng ủy Sở Lao động - Thương binh và Xã hội tỉnh Sơn La",
            "short_code": "ĐUSLĐTBXH",
            "kind": "party_committee",
        },
        {
            "ref": "cb",
            "name": "Chi bộ Cơ sở Điều trị nghiện ma túy tỉnh",
            "short_code": "CB",
            "kind": "party_cell",
            "parent": "du",
        },
        {
            "ref": "cd",
            "name": "Ban Chấp hành Công đoàn",
            "short_code": "BCHCĐ",
            "kind": "mass_organisation",
            "parent": "cb",
        },
        {
            "ref": "t1",
            "name": "Tổ đảng tổ 1",
            "short_code": "TĐ1",
            "kind": "party_group",
            "parent": "cb",
        },
    ]
}


async def test_the_seed_003_story_of_the_son_la_cell(
    app: Any, clock: Clock, domain_store: EventStore
) -> None:
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=CELL_TREE, headers=admin), 201))[
            "units"
        ]
        ids = {ref: uuid.UUID(unit_id) for ref, unit_id in u.items()}
        people = {}
        for name, role, ref in (
            ("Đoàn Văn Tú", "chief", "cb"),
            ("officer cb", "officer", "cb"),
            ("officer cd", "officer", "cd"),
            ("officer t1", "officer", "t1"),
            ("chief du", "chief", "du"),
        ):
            _, token = await make_user(domain_store, role, ids[ref], name=name)  # type: ignore[arg-type]
            people[f"{role} {ref}"] = bearer(token)

        # 12/10/2022: the cell drafts and issues plan 334-KH/CB implementing 16-HD/BTGĐUK.
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={
                        "kind": "KH",
                        "issuer_unit_id": u["cb"],
                        "title": PLAN_TITLE,
                        "implements": [{"number": "16-HD/BTGĐUK", "issued_on": "03/10/2022"}],
                        "recipients": [
                            {"unit_id": u["du"], "role": "for_report"},
                            {"unit_id": u["cd"], "role": "implement"},
                            {"unit_id": u["t1"], "role": "implement"},
                        ],
                    },
                    headers=people["officer cb"],
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={
                    "number": "334-KH/CB",
                    "place": "Sơn La",
                    "signer": {
                        "name": "Đoàn Văn Tú",
                        "title": "Bí thư",
                        "authority": "TM",
                        "on_behalf_of": "Chi bộ",
                    },
                },
                headers=people["chief cb"],
            )
        )

        # Item 2: the trade-union committee and party group 1 report before 16/10/2022.
        item2 = await ok(
            await client.post(
                f"/plans/{plan}/assignments",
                json={
                    "item": "2",
                    "lead_unit_ids": [u["cd"], u["t1"]],
                    "report_to_unit_id": u["cb"],
                    "text": ITEM_2,
                    "due": "2022-10-16T00:00:00+07:00",
                },
                headers=people["officer cb"],
            ),
            201,
        )
        union, group = item2["assignments"][u["cd"]], item2["assignments"][u["t1"]]
        # One append: each task issued with its deadline schedule (issue 8).
        assert len(item2["events"]) == 4 and {e["stream_id"] for e in item2["events"]} == {
            f"assignment-{union}",
            f"assignment-{group}",
        }
        # Item 1: the cell's consolidated report before 17/10/2022, to the Party committee.
        cell_task = (
            await ok(
                await client.post(
                    f"/plans/{plan}/assignments",
                    json={
                        "item": "1",
                        "lead_unit_ids": [u["cb"]],
                        "report_to_unit_id": u["du"],
                        "text": ITEM_1,
                        "due": "2022-10-17T00:00:00+07:00",
                    },
                    headers=people["officer cb"],
                ),
                201,
            )
        )["id"]

        # 14/10: the union acknowledges and reports; the cell approves.
        clock.set(14, 10)
        await ok(
            await client.post(f"/assignments/{union}/acknowledge", headers=people["officer cd"])
        )
        report = (
            await ok(
                await client.post(
                    f"/assignments/{union}/submissions",
                    json={"text": "Đã xây dựng mô hình Dân vận khéo", "metrics": {"models": 1}},
                    headers=people["officer cd"],
                ),
                201,
            )
        )["id"]
        clock.set(14, 15)
        await ok(
            await client.post(
                f"/assignments/{union}/submissions/{report}/review",
                json={"step": "approval", "outcome": "approved"},
                headers=people["chief cb"],
            )
        )

        # 15/10: the party group reports, is sent back for changes, reports again, approved.
        clock.set(15, 9)
        first = (
            await ok(
                await client.post(
                    f"/assignments/{group}/submissions",
                    json={"text": "Báo cáo mô hình", "metrics": {"models": 1}},
                    headers=people["officer t1"],
                ),
                201,
            )
        )["id"]
        clock.set(15, 11)
        await ok(
            await client.post(
                f"/assignments/{group}/submissions/{first}/review",
                json={
                    "step": "approval",
                    "outcome": "changes_requested",
                    "comments": "Bổ sung số liệu",
                },
                headers=people["chief cb"],
            )
        )
        clock.set(15, 16)
        second = (
            await ok(
                await client.post(
                    f"/assignments/{group}/submissions",
                    json={"text": "Báo cáo mô hình (bổ sung)", "metrics": {"models": 2}},
                    headers=people["officer t1"],
                ),
                201,
            )
        )["id"]
        clock.set(15, 17)
        await ok(
            await client.post(
                f"/assignments/{group}/submissions/{second}/review",
                json={"step": "approval", "outcome": "approved"},
                headers=people["chief cb"],
            )
        )

        # 16/10: the cell files its consolidated report; the Party committee approves it.
        clock.set(16, 15)
        consolidated = (
            await ok(
                await client.post(
                    f"/assignments/{cell_task}/submissions",
                    json={"text": "Báo cáo tổng hợp", "sources": [union, group]},
                    headers=people["officer cb"],
                ),
                201,
            )
        )["id"]
        clock.set(16, 17)
        await ok(
            await client.post(
                f"/assignments/{cell_task}/submissions/{consolidated}/review",
                json={"step": "approval", "outcome": "approved"},
                headers=people["chief du"],
            )
        )

        view = await ok(await client.get(f"/assignments/{cell_task}", headers=admin))
        assert view["status"] == "completed_on_time" and view["overdue"] is False
        assert view["submissions"][0]["metrics"] == {"models": 3}

    def at(day: int, hour: int) -> datetime:
        return datetime(2022, 10, day, hour, tzinfo=HANOI)

    async def stream(task: str) -> list[Any]:
        return [e.data for e in await domain_store.read_stream(f"assignment-{task}")]

    due16, due17 = at(16, 0), at(17, 0)
    union_id, group_id, cell_id = (uuid.UUID(t) for t in (union, group, cell_task))
    plan_id = uuid.UUID(plan)
    assert await stream(union) == [
        AssignmentIssued(
            assignment_id=union_id,
            plan_id=plan_id,
            item="2",
            text=ITEM_2,
            lead_unit_id=ids["cd"],
            due=due16,
            report_to_unit_id=ids["cb"],
            issuer_unit_id=ids["cb"],
            effective_at=at(12, 9),
        ),
        # Issued with its schedule: day 0 is Saturday 15/10; -3 (8:00 on 12/10) was already
        # past at 9:00, so it is never sent; the escalations go to the cell, then the committee.
        DeadlineScheduled(
            assignment_id=union_id,
            schedule_version=1,
            due=due16,
            calendar_version="vn:0.109:1",
            steps=(
                ScheduledStep(
                    step="-3",
                    offset=-3,
                    action="remind",
                    target="lead",
                    unit_id=ids["cd"],
                    at=at(12, 8),
                ),
                ScheduledStep(
                    step="-1",
                    offset=-1,
                    action="remind",
                    target="lead",
                    unit_id=ids["cd"],
                    at=at(14, 8),
                ),
                ScheduledStep(
                    step="0", offset=0, action="miss", target="lead", unit_id=ids["cd"], at=due16
                ),
                ScheduledStep(
                    step="+1",
                    offset=1,
                    action="escalate",
                    target="report_to",
                    unit_id=ids["cb"],
                    at=at(17, 8),
                ),
                ScheduledStep(
                    step="+3",
                    offset=3,
                    action="escalate",
                    target="report_to_parent",
                    unit_id=ids["du"],
                    at=at(19, 8),
                ),
            ),
            scheduled_at=at(12, 9),
            cause="issued",
        ),
        AssignmentAcknowledged(assignment_id=union_id, effective_at=at(14, 10)),
        SubmissionFiled(
            assignment_id=union_id,
            submission_id=uuid.UUID(report),
            text="Đã xây dựng mô hình Dân vận khéo",
            effective_at=at(14, 10),
            metrics={"models": 1},
        ),
        SubmissionReviewed(
            assignment_id=union_id,
            submission_id=uuid.UUID(report),
            step="approval",
            outcome="approved",
            reviewer_unit_id=ids["cb"],
            effective_at=at(14, 15),
        ),
        AssignmentCompleted(
            assignment_id=union_id,
            submission_id=uuid.UUID(report),
            on_time=True,
            completed_at=at(14, 10),
            due=due16,
            days_late=0,
        ),
    ]
    assert [type(e).__name__ for e in await stream(group)] == [
        "AssignmentIssued",
        "DeadlineScheduled",
        "SubmissionFiled",
        "SubmissionReviewed",
        "SubmissionFiled",
        "SubmissionReviewed",
        "AssignmentCompleted",
    ]
    group_events = await stream(group)
    assert group_events[3] == SubmissionReviewed(
        assignment_id=group_id,
        submission_id=uuid.UUID(first),
        step="approval",
        outcome="changes_requested",
        comments="Bổ sung số liệu",
        reviewer_unit_id=ids["cb"],
        effective_at=at(15, 11),
    )
    assert group_events[6] == AssignmentCompleted(
        assignment_id=group_id,
        submission_id=uuid.UUID(second),
        on_time=True,
        completed_at=at(15, 16),
        due=due16,
        days_late=0,
    )
    cell_events = await stream(cell_task)
    assert cell_events[2] == SubmissionFiled(
        assignment_id=cell_id,
        submission_id=uuid.UUID(consolidated),
        text="Báo cáo tổng hợp",
        effective_at=at(16, 15),
        metrics={"models": 3},
        sources=(
            Source(assignment_id=union_id, submission_id=uuid.UUID(report), unit_id=ids["cd"]),
            Source(assignment_id=group_id, submission_id=uuid.UUID(second), unit_id=ids["t1"]),
        ),
    )
    assert cell_events[-1] == AssignmentCompleted(
        assignment_id=cell_id,
        submission_id=uuid.UUID(consolidated),
        on_time=True,
        completed_at=at(16, 15),
        due=due17,
        days_late=0,
    )


# -- who may do what with tasks: a literal table ---------------------------------------------

TASK_ROLES = (
    "anonymous",
    "admin",
    "chief cb",
    "officer cb",
    "officer cd",
    "chief cd",
    "auditor cb",
    "consumer cb",
)
# The plan is the cell's (cb); the task's lead is the union (cd); it reports to the cell.
TASK_MATRIX = [
    # route           anon admin cb-chief cb-off cd-off cd-chief auditor consumer
    ("issue", (401, 201, 201, 201, 403, 403, 403, 403)),
    ("get", (401, 200, 200, 200, 200, 200, 200, 200)),
    ("acknowledge", (401, 200, 403, 403, 200, 200, 403, 403)),
    ("progress", (401, 200, 403, 403, 200, 200, 403, 403)),
    ("file", (401, 201, 403, 403, 201, 403, 403, 403)),
    ("review", (401, 200, 200, 403, 403, 403, 403, 403)),
    ("extension", (401, 201, 403, 403, 201, 201, 403, 403)),
    ("decide", (401, 200, 200, 403, 403, 403, 403, 403)),
    ("obstacle", (401, 201, 403, 403, 201, 201, 403, 403)),
    ("resolve", (401, 200, 200, 403, 403, 403, 403, 403)),
    ("reassign", (401, 200, 200, 403, 403, 403, 403, 403)),
    ("withdraw", (401, 200, 200, 403, 403, 403, 403, 403)),
]


async def test_the_task_authorization_matrix(
    app: Any, clock: Clock, domain_store: EventStore
) -> None:
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=CELL_TREE, headers=admin), 201))[
            "units"
        ]
        headers: dict[str, dict[str, str]] = {"anonymous": {}, "admin": admin}
        for name in TASK_ROLES[2:]:
            role, ref = name.split()
            _, token = await make_user(domain_store, role, uuid.UUID(u[ref]))  # type: ignore[arg-type]
            headers[name] = bearer(token)
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "KH", "title": "334", "issuer_unit_id": u["cb"]},
                    headers=admin,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={
                    "number": "334-KH/CB",
                    "place": "Sơn La",
                    "signer": {"name": "Đoàn Văn Tú", "title": "Bí thư"},
                },
                headers=admin,
            )
        )
        task_body = {
            "item": "2",
            "text": "Báo cáo",
            "lead_unit_ids": [u["cd"]],
            "report_to_unit_id": u["cb"],
            "due": "2022-10-16T00:00:00+07:00",
        }

        async def new_task() -> str:
            return (
                await ok(
                    await client.post(f"/plans/{plan}/assignments", json=task_body, headers=admin),
                    201,
                )
            )["id"]

        async def with_submission() -> tuple[str, str]:
            task = await new_task()
            sid = (
                await ok(
                    await client.post(
                        f"/assignments/{task}/submissions", json={"text": "x"}, headers=admin
                    ),
                    201,
                )
            )["id"]
            return task, sid

        async def with_extension() -> tuple[str, str]:
            task = await new_task()
            eid = (
                await ok(
                    await client.post(
                        f"/assignments/{task}/extensions",
                        json={"requested_due": "2022-10-20T00:00:00+07:00", "reason": "x"},
                        headers=admin,
                    ),
                    201,
                )
            )["id"]
            return task, eid

        async def with_obstacle() -> tuple[str, str]:
            task = await new_task()
            oid = (
                await ok(
                    await client.post(
                        f"/assignments/{task}/obstacles", json={"description": "x"}, headers=admin
                    ),
                    201,
                )
            )["id"]
            return task, oid

        async def call(route: str, who: dict[str, str]) -> httpx.Response:
            if route == "issue":
                return await client.post(f"/plans/{plan}/assignments", json=task_body, headers=who)
            if route in ("review", "decide", "resolve"):
                task, sub = await {
                    "review": with_submission,
                    "decide": with_extension,
                    "resolve": with_obstacle,
                }[route]()
                path, body = {
                    "review": (
                        f"submissions/{sub}/review",
                        {"step": "approval", "outcome": "approved"},
                    ),
                    "decide": (f"extensions/{sub}/decision", {"grant": True}),
                    "resolve": (f"obstacles/{sub}/resolve", {"direction": "chỉ đạo"}),
                }[route]
                return await client.post(f"/assignments/{task}/{path}", json=body, headers=who)
            task = await new_task()
            if route == "get":
                return await client.get(f"/assignments/{task}", headers=who)
            path, body = {
                "acknowledge": ("acknowledge", None),
                "progress": ("progress", {"note": "tiến độ"}),
                "file": ("submissions", {"text": "báo cáo"}),
                "extension": (
                    "extensions",
                    {"requested_due": "2022-10-20T00:00:00+07:00", "reason": "chờ"},
                ),
                "obstacle": ("obstacles", {"description": "khó khăn"}),
                "reassign": ("reassign", {"to_unit_id": u["t1"], "reason": "đổi"}),
                "withdraw": ("withdraw", {"reason": "thu hồi"}),
            }[route]
            return await client.post(f"/assignments/{task}/{path}", json=body, headers=who)

        clock.set(14, 10)
        failures = []
        for route, expected in TASK_MATRIX:
            for role, status in zip(TASK_ROLES, expected, strict=True):
                answer = await call(route, headers[role])
                if answer.status_code != status:
                    failures.append(
                        f"{role} {route}: {answer.status_code}, expected {status}: "
                        f"{answer.text[:100]}"
                    )
        assert failures == [], "\n".join(failures)


async def test_bad_task_input_answers_its_problem_and_appends_nothing(
    app: Any, clock: Clock, domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    from tests.org import event_count

    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=CELL_TREE, headers=admin), 201))[
            "units"
        ]
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "KH", "title": "334", "issuer_unit_id": u["cb"]},
                    headers=admin,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={
                    "number": "334-KH/CB",
                    "place": "Sơn La",
                    "signer": {"name": "Đoàn Văn Tú", "title": "Bí thư"},
                },
                headers=admin,
            )
        )
        body = {
            "item": "2",
            "text": "Báo cáo",
            "lead_unit_ids": [u["cd"]],
            "due": "2022-10-16T00:00:00+07:00",
        }
        task = (
            await ok(await client.post(f"/plans/{plan}/assignments", json=body, headers=admin), 201)
        )["id"]
        done = (
            await ok(await client.post(f"/plans/{plan}/assignments", json=body, headers=admin), 201)
        )["id"]
        await ok(
            await client.post(f"/assignments/{done}/withdraw", json={"reason": "x"}, headers=admin)
        )
        await ok(
            await client.post(
                f"/assignments/{task}/acknowledge", headers={**admin, "Idempotency-Key": "ack-1"}
            )
        )
        missing = uuid.uuid4()
        cases: list[tuple[str, dict[str, str], Any, int, str]] = [
            (
                f"/plans/{plan}/assignments",
                admin,
                {**body, "due": "2022-10-16T00:00:00"},
                422,
                "naive-time",
            ),
            (
                f"/plans/{plan}/assignments",
                admin,
                {**body, "due": "16/10/2022"},
                400,
                "invalid-request",
            ),
            (
                f"/plans/{plan}/assignments",
                admin,
                {**body, "lead_unit_ids": []},
                400,
                "invalid-request",
            ),
            (
                f"/plans/{plan}/assignments",
                admin,
                {**body, "lead_unit_ids": [u["cd"], u["cd"]]},
                422,
                "duplicate-lead",
            ),
            (
                f"/plans/{plan}/assignments",
                admin,
                {**body, "lead_unit_ids": [str(missing)]},
                422,
                "unknown-lead",
            ),
            (f"/plans/{missing}/assignments", admin, body, 404, "unknown-plan"),
            (
                f"/plans/{plan}/assignments",
                admin,
                {**body, "due": "2022-10-01T00:00:00+07:00"},
                422,
                "due-in-past",
            ),
            (f"/assignments/{missing}/acknowledge", admin, None, 404, "unknown-assignment"),
            (f"/assignments/{task}/acknowledge", admin, None, 422, "already-acknowledged"),
            (
                f"/assignments/{task}/submissions",
                admin,
                {"text": "x", "metrics": {"n": 1.5}},
                400,
                "invalid-request",
            ),
            (
                f"/assignments/{task}/submissions",
                admin,
                {"text": "x", "metrics": {"n": 2**60}},
                400,
                "invalid-request",
            ),
            (f"/assignments/{done}/submissions", admin, {"text": "x"}, 422, "assignment-closed"),
            (
                f"/assignments/{task}/submissions/{missing}/review",
                admin,
                {"step": "approval", "outcome": "approved"},
                404,
                "unknown-submission",
            ),
            (
                f"/assignments/{task}/submissions/{missing}/review",
                admin,
                {"step": "approval", "outcome": "maybe"},
                400,
                "invalid-request",
            ),
            (
                f"/assignments/{task}/extensions",
                admin,
                {"requested_due": "2022-10-10T00:00:00+07:00", "reason": "x"},
                422,
                "due-not-later",
            ),
            (
                f"/assignments/{task}/extensions/{missing}/decision",
                admin,
                {"grant": True},
                404,
                "unknown-extension",
            ),
            (
                f"/assignments/{task}/obstacles/{missing}/resolve",
                admin,
                {"direction": "x"},
                404,
                "unknown-obstacle",
            ),
            (
                f"/assignments/{task}/reassign",
                admin,
                {"to_unit_id": u["cd"], "reason": "x"},
                422,
                "nothing-changed",
            ),
            (
                f"/assignments/{task}/progress",
                {**admin, "If-Match": '"1"'},
                {"note": "x"},
                409,
                "stale-version",
            ),
            (
                f"/assignments/{task}/acknowledge",
                {**admin, "Idempotency-Key": "ack-1"},
                {"other": "body"},
                422,
                "idempotency-key-reused",
            ),
        ]
        before = await event_count(pool)
        failures = []
        for path, headers, payload, status, problem in cases:
            answer = await client.post(path, json=payload, headers=headers)
            kind = answer.json().get("type")
            if (answer.status_code, kind) != (status, f"/problems/{problem}"):
                failures.append(
                    f"{path} {payload}: {answer.status_code} {kind}, expected {status} {problem}"
                )
        assert failures == [], "\n".join(failures)
        assert await event_count(pool) == before


async def test_a_merged_or_dissolved_unit_hands_its_open_tasks_to_its_successor(
    app: Any, clock: Clock, domain_store: EventStore
) -> None:
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=CELL_TREE, headers=admin), 201))[
            "units"
        ]
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={"kind": "KH", "title": "334", "issuer_unit_id": u["cb"]},
                    headers=admin,
                ),
                201,
            )
        )["id"]
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={
                    "number": "334-KH/CB",
                    "place": "Sơn La",
                    "signer": {"name": "Đoàn Văn Tú", "title": "Bí thư"},
                },
                headers=admin,
            )
        )
        body = {
            "item": "2",
            "text": "Báo cáo",
            "lead_unit_ids": [u["cd"]],
            "due": "2022-10-16T00:00:00+07:00",
        }
        open_task = (
            await ok(await client.post(f"/plans/{plan}/assignments", json=body, headers=admin), 201)
        )["id"]
        finished = (
            await ok(await client.post(f"/plans/{plan}/assignments", json=body, headers=admin), 201)
        )["id"]
        await ok(
            await client.post(
                f"/assignments/{finished}/withdraw", json={"reason": "x"}, headers=admin
            )
        )
        # The union is merged into party group 1: its open task goes along, in one append.
        merged = await ok(
            await client.post(
                f"/units/{u['cd']}/merge", json={"successor_id": u["t1"]}, headers=admin
            )
        )
        assert {e["stream_id"] for e in merged["events"]} == {
            f"unit-{u['cd']}",
            f"assignment-{open_task}",
        }
        task = await ok(await client.get(f"/assignments/{open_task}", headers=admin))
        assert task["lead_unit_id"] == u["t1"]
        # Reassigned, with a new schedule for its new lead (issue 8).
        assert [h["type"] for h in task["history"][-2:]] == [
            "AssignmentReassigned",
            "DeadlineScheduled",
        ]
        assert (await ok(await client.get(f"/assignments/{finished}", headers=admin)))[
            "lead_unit_id"
        ] == u["cd"]
        # Party group 1 now leads an open task: dissolving it needs a successor.
        refused = await client.post(f"/units/{u['t1']}/dissolve", json={}, headers=admin)
        assert refused.status_code == 422
        assert refused.json()["type"] == "/problems/open-tasks-need-successor"
        dissolved = await client.post(
            f"/units/{u['t1']}/dissolve", json={"successor_id": u["cb"]}, headers=admin
        )
        assert dissolved.status_code == 200, dissolved.text
        assert (await ok(await client.get(f"/assignments/{open_task}", headers=admin)))[
            "lead_unit_id"
        ] == u["cb"]


async def test_plans_and_tasks_are_read_only_within_reach(
    app: Any, clock: Clock, domain_store: EventStore
) -> None:
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=CELL_TREE, headers=admin), 201))[
            "units"
        ]
        other = (
            await ok(
                await client.post(
                    "/units", json={"name": "Đơn vị khác", "short_code": "KHAC"}, headers=admin
                ),
                201,
            )
        )["id"]
        plan = (
            await ok(
                await client.post(
                    "/plans",
                    json={
                        "kind": "KH",
                        "title": "334",
                        "issuer_unit_id": u["cb"],
                        "recipients": [{"unit_id": u["t1"], "role": "implement"}],
                    },
                    headers=admin,
                ),
                201,
            )
        )["id"]
        readers: dict[str, dict[str, str]] = {}
        for name, role, unit in (
            ("party committee auditor", "auditor", u["du"]),
            ("union consumer", "consumer", u["cd"]),
            ("group officer", "officer", u["t1"]),
            ("stranger consumer", "consumer", other),
            ("stranger chief", "chief", other),
        ):
            _, token = await make_user(domain_store, role, uuid.UUID(unit))  # type: ignore[arg-type]
            readers[name] = bearer(token)
        draft = {
            n: (await client.get(f"/plans/{plan}", headers=h)).status_code
            for n, h in readers.items()
        }
        for derived in (f"/plans/{plan}/history", f"/plans/{plan}/compliance"):
            statuses = {
                n: (await client.get(derived, headers=h)).status_code for n, h in readers.items()
            }
            assert statuses == draft, derived  # a draft's history is its issuer's too
        await ok(
            await client.post(
                f"/plans/{plan}/issue",
                json={
                    "number": "334-KH/CB",
                    "place": "Sơn La",
                    "signer": {"name": "Đoàn Văn Tú", "title": "Bí thư"},
                },
                headers=admin,
            )
        )
        issued = {
            n: (await client.get(f"/plans/{plan}", headers=h)).status_code
            for n, h in readers.items()
        }
        task = (
            await ok(
                await client.post(
                    f"/plans/{plan}/assignments",
                    json={
                        "item": "2",
                        "text": "Báo cáo",
                        "lead_unit_ids": [u["cd"]],
                        "due": "2022-10-16T00:00:00+07:00",
                    },
                    headers=admin,
                ),
                201,
            )
        )["id"]
        tasks = {
            n: (await client.get(f"/assignments/{task}", headers=h)).status_code
            for n, h in readers.items()
        }
    # Outside reach answers like unknown (404), not 403: no existence oracle.
    assert draft == {
        "party committee auditor": 200,
        "union consumer": 404,
        "group officer": 404,
        "stranger consumer": 404,
        "stranger chief": 404,
    }
    assert issued == {
        "party committee auditor": 200,
        "union consumer": 404,
        "group officer": 200,
        "stranger consumer": 404,
        "stranger chief": 404,
    }
    assert tasks == {
        "party committee auditor": 200,
        "union consumer": 200,
        "group officer": 404,
        "stranger consumer": 404,
        "stranger chief": 404,
    }
