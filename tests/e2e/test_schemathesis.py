"""The API under schemathesis, against a real server on a seeded database, as an admin:
generated requests for every operation never get a 5xx, and every command route answers a
valid example request with 2xx."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.cli import campaign
from tests.e2e.test_dev import free_port

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture
def server(dsn: str) -> Iterator[tuple[str, dict[str, str]]]:
    token = campaign(dsn, "users", "add", "Quản trị", "--role", "admin", check=True).stdout.split()[
        -1
    ]
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "HTTP_PORT": str(port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "warning",
        "WEBHOOK_ALLOWED_TARGETS": "203.0.113.0/24",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.ops.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield base, {"Authorization": f"Bearer {token}"}
    finally:
        process.terminate()
        process.wait(timeout=30)


class Seed:
    """Objects of every kind, so generated requests reach past the lookups."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(self, path: str, body: Any = None, status: int | None = None) -> dict[str, Any]:
        answer = self.client.post(path, json=body)
        assert answer.status_code < 300, f"{path}: {answer.text}"
        if status is not None:
            assert answer.status_code == status, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def tree(self) -> dict[str, str]:
        code = uuid.uuid4().hex[:6].upper()
        units: dict[str, str] = self.post(
            "/units/import",
            {
                "units": [
                    {
                        "ref": "du",
                        "name": f"Đảng ủy {code}",
                        "short_code": f"DU{code}",
                        "kind": "party_committee",
                    },
                    {"ref": "cb", "name": "Chi bộ", "short_code": "CB", "parent": "du"},
                    {"ref": "cd", "name": "Công đoàn", "short_code": "CD", "parent": "cb"},
                    {"ref": "t1", "name": "Tổ đảng 1", "short_code": "T1", "parent": "cb"},
                ]
            },
        )["units"]
        return units

    def plan(self, issuer: str, issue: bool = True) -> str:
        plan: str = self.post(
            "/plans", {"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": issuer}
        )["id"]
        if issue:
            self.post(
                f"/plans/{plan}/issue",
                {
                    "number": f"{uuid.uuid4().int % 9000 + 1}-KH/CB",
                    "place": "Sơn La",
                    "signer": {"name": "Đoàn Văn Tú", "title": "Bí thư"},
                },
            )
        return plan

    def task(self, plan: str, lead: str) -> str:
        task: str = self.post(
            f"/plans/{plan}/assignments",
            {
                "item": "1",
                "text": "Báo cáo",
                "lead_unit_ids": [lead],
                "due": "2099-10-16T00:00:00+07:00",
            },
        )["id"]
        return task


def ids_for(seed: Seed) -> dict[str, str]:
    units = seed.tree()
    plan = seed.plan(units["cb"])
    task = seed.task(plan, units["cd"])
    submission = seed.post(f"/assignments/{task}/submissions", {"text": "x"})["id"]
    other = seed.task(plan, units["cd"])
    extension = seed.post(
        f"/assignments/{other}/extensions",
        {"requested_due": "2099-12-01T00:00:00+07:00", "reason": "x"},
    )["id"]
    obstacle = seed.post(f"/assignments/{other}/obstacles", {"description": "x"})["id"]
    user = seed.post(
        "/users", {"name": "Cán bộ", "roles": [{"role": "officer", "unit_id": units["cd"]}]}
    )
    token = seed.post(f"/users/{user['id']}/tokens", {})["token_id"]
    return {
        "unit_id": units["cd"],
        "plan_id": plan,
        "assignment_id": task,
        "submission_id": submission,
        "extension_id": extension,
        "obstacle_id": obstacle,
        "user_id": user["id"],
        "role_id": user["role_ids"][0],
        "token_id": token,
    }


def exercise(
    strategy: Any,
    label: str,
    base: str,
    auth: dict[str, str],
    statuses: dict[str, list[int]],
    errors: list[str],
) -> None:
    """Send generated requests for one operation; remember statuses and any server error."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, headers=auth)
        statuses[label].append(response.status_code)
        if response.status_code >= 500:
            errors.append(
                f"{label}: {response.status_code} {case.as_curl_command()} -> {response.text[:200]}"
            )

    try:
        send()
    except Unsatisfiable:  # negative mode: nothing to break in an operation without inputs
        statuses.setdefault(label, [])


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
def test_no_generated_request_gets_a_server_error(
    server: tuple[str, dict[str, str]], mode: schemathesis.GenerationMode
) -> None:
    base, auth = server
    seed = Seed(httpx.Client(base_url=base, headers=auth, timeout=30))
    known = ids_for(seed)
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    statuses: dict[str, list[int]] = defaultdict(list)
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/events/live":
            continue  # an endless stream: tests/integration/test_live_http.py covers it
        path_parameters = {
            p.name: known[p.name] for p in operation.path_parameters if p.name in known
        }
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
        exercise(strategy, operation.label, base, auth, statuses, errors)
    print("\noperation statuses:", {k: sorted(set(v)) for k, v in statuses.items()})
    assert len(statuses) >= 40
    assert errors == [], "\n".join(errors)


def test_every_command_route_answers_a_valid_example_with_2xx(
    server: tuple[str, dict[str, str]],
) -> None:
    base, auth = server
    seed = Seed(httpx.Client(base_url=base, headers=auth, timeout=30))
    units = seed.tree()
    plan = seed.plan(units["cb"])
    statuses: dict[str, int] = {}

    def call(label: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = seed.client.request(method, path, json=body)
        statuses[label] = answer.status_code
        result: dict[str, Any] = answer.json() if answer.content else {}
        return result

    unit = call(
        "POST /units",
        "POST",
        "/units",
        {"name": "Ban mới", "short_code": "BM", "parent_id": units["du"]},
    )["id"]
    call(
        "POST /units/import",
        "POST",
        "/units/import",
        {"units": [{"ref": "a", "name": "A", "short_code": "A", "parent": units["du"]}]},
    )
    call("POST /units/{unit_id}/rename", "POST", f"/units/{unit}/rename", {"name": "Ban khác"})
    call("POST /units/{unit_id}/move", "POST", f"/units/{unit}/move", {"parent_id": units["cb"]})
    spare = [
        seed.post("/units", {"name": f"U{n}", "short_code": f"U{n}", "parent_id": units["du"]})[
            "id"
        ]
        for n in range(4)
    ]
    call(
        "POST /units/{unit_id}/merge",
        "POST",
        f"/units/{spare[0]}/merge",
        {"successor_id": units["cb"]},
    )
    call(
        "POST /units/{unit_id}/split",
        "POST",
        f"/units/{spare[1]}/split",
        {"successor_ids": [spare[2], spare[3]], "default_successor_id": spare[2]},
    )
    call("POST /units/{unit_id}/dissolve", "POST", f"/units/{unit}/dissolve", {})
    user = call("POST /users", "POST", "/users", {"name": "Cán bộ"})["id"]
    role = call(
        "POST /users/{user_id}/roles",
        "POST",
        f"/users/{user}/roles",
        {"role": "officer", "unit_id": units["cd"]},
    )["id"]
    call("DELETE /users/{user_id}/roles/{role_id}", "DELETE", f"/users/{user}/roles/{role}")
    token = call("POST /users/{user_id}/tokens", "POST", f"/users/{user}/tokens", {})["token_id"]
    call("DELETE /users/{user_id}/tokens/{token_id}", "DELETE", f"/users/{user}/tokens/{token}")
    call("DELETE /users/{user_id}/personal-data", "DELETE", f"/users/{user}/personal-data")
    draft = call(
        "POST /plans",
        "POST",
        "/plans",
        {"kind": "KH", "title": "Kế hoạch", "issuer_unit_id": units["cd"]},
    )["id"]
    call(
        "POST /plans/{plan_id}/issue",
        "POST",
        f"/plans/{draft}/issue",
        {"number": "12-KH/CD", "place": "Sơn La", "signer": {"name": "A", "title": "B"}},
    )
    call(
        "POST /plans/{plan_id}/amend",
        "POST",
        f"/plans/{draft}/amend",
        {"reason": "bổ sung", "title": "Kế hoạch (sửa)"},
    )
    call(
        "POST /plans/{plan_id}/attachments",
        "POST",
        f"/plans/{draft}/attachments",
        {"name": "a.pdf", "media_type": "application/pdf", "sha256": "ab" * 32, "size": 1},
    )
    call(
        "POST /plans/{plan_id}/sub-plans",
        "POST",
        f"/plans/{plan}/sub-plans",
        {"sub_plan_id": draft},
    )
    newer = seed.plan(units["cd"])
    call(
        "POST /plans/{plan_id}/supersede",
        "POST",
        f"/plans/{draft}/supersede",
        {"superseded_by": newer},
    )
    call("POST /plans/{plan_id}/close", "POST", f"/plans/{newer}/close", {})
    call(
        "POST /plans/{plan_id}/cancel",
        "POST",
        f"/plans/{seed.plan(units['cb'], False)}/cancel",
        {"reason": "không thực hiện"},
    )
    task = call(
        "POST /plans/{plan_id}/assignments",
        "POST",
        f"/plans/{plan}/assignments",
        {
            "item": "1",
            "text": "Báo cáo",
            "lead_unit_ids": [units["cd"]],
            "due": "2099-10-16T00:00:00+07:00",
        },
    )["id"]
    undated = call(
        "POST /plans/{plan_id}/assignments",
        "POST",
        f"/plans/{plan}/assignments",
        {"item": "2", "text": "Tuyên truyền thường xuyên", "lead_unit_ids": [units["cd"]]},
    )["id"]
    call(
        "POST /assignments/{assignment_id}/due",
        "POST",
        f"/assignments/{undated}/due",
        {"due_date": "31/12/2099", "due_rule": "by", "reason": "Công văn chỉ đạo"},
    )
    call(
        "POST /plans/{plan_id}/items",
        "POST",
        f"/plans/{plan}/items",
        {"text": "Tổ chức mít tinh kỷ niệm", "addressed_to": "cấp xã"},
    )
    call(
        "POST /assignments/{assignment_id}/acknowledge", "POST", f"/assignments/{task}/acknowledge"
    )
    call(
        "POST /assignments/{assignment_id}/progress",
        "POST",
        f"/assignments/{task}/progress",
        {"note": "đang làm"},
    )
    extension = call(
        "POST /assignments/{assignment_id}/extensions",
        "POST",
        f"/assignments/{task}/extensions",
        {"requested_due": "2099-12-01T00:00:00+07:00", "reason": "x"},
    )["id"]
    call(
        "POST /assignments/{assignment_id}/extensions/{extension_id}/decision",
        "POST",
        f"/assignments/{task}/extensions/{extension}/decision",
        {"grant": True},
    )
    obstacle = call(
        "POST /assignments/{assignment_id}/obstacles",
        "POST",
        f"/assignments/{task}/obstacles",
        {"description": "khó khăn"},
    )["id"]
    call(
        "POST /assignments/{assignment_id}/obstacles/{obstacle_id}/resolve",
        "POST",
        f"/assignments/{task}/obstacles/{obstacle}/resolve",
        {"direction": "chỉ đạo"},
    )
    submission = call(
        "POST /assignments/{assignment_id}/submissions",
        "POST",
        f"/assignments/{task}/submissions",
        {"text": "báo cáo"},
    )["id"]
    call(
        "POST /assignments/{assignment_id}/submissions/{submission_id}/review",
        "POST",
        f"/assignments/{task}/submissions/{submission}/review",
        {"step": "approval", "outcome": "approved"},
    )
    other = seed.task(plan, units["cd"])
    call(
        "POST /assignments/{assignment_id}/reassign",
        "POST",
        f"/assignments/{other}/reassign",
        {"to_unit_id": units["t1"], "reason": "đổi"},
    )
    call(
        "POST /assignments/{assignment_id}/withdraw",
        "POST",
        f"/assignments/{other}/withdraw",
        {"reason": "thu hồi"},
    )

    model = call(
        "POST /models",
        "POST",
        "/models",
        {
            "unit_id": units["t1"],
            "year": 2022,
            "field": "dân vận",
            "kind": "collective",
            "title": "Dân vận khéo",
        },
    )["id"]
    call(
        "POST /models/{model_id}/reports",
        "POST",
        f"/models/{model}/reports",
        {"text": "kết quả", "metrics": {"households": 12}},
    )
    call(
        "POST /models/{model_id}/commendations",
        "POST",
        f"/models/{model}/commendations",
        {"level": "grassroots", "by_unit_id": units["cb"], "citation": "tuyên dương"},
    )

    subscription = call(
        "POST /subscriptions",
        "POST",
        "/subscriptions",
        {"url": "https://203.0.113.7/hooks", "filter": {"categories": ["plan"]}},
    )["id"]
    call(
        "POST /subscriptions/{subscription_id}/pause",
        "POST",
        f"/subscriptions/{subscription}/pause",
        {"reason": "bảo trì"},
    )
    call(
        "POST /subscriptions/{subscription_id}/resume",
        "POST",
        f"/subscriptions/{subscription}/resume",
        {},
    )
    call(
        "POST /subscriptions/{subscription_id}/reset",
        "POST",
        f"/subscriptions/{subscription}/reset",
        {"to": "beginning"},
    )

    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    commands = {
        op.label
        for op in (r.ok() for r in schema.get_all_operations())
        if op.method.upper() in ("POST", "DELETE", "PUT", "PATCH")
    }
    assert commands == set(statuses), commands ^ set(statuses)
    failing = {label: status for label, status in statuses.items() if not 200 <= status < 300}
    assert failing == {}
