"""Exemplary models over HTTP: register, report, commend, list; refusals."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user


async def test_a_model_is_registered_reported_commended_and_listed(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    app = create_app(load_settings({}), pool=pool)
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        units = (
            await client.post(
                "/units/import",
                headers=admin,
                json={
                    "units": [
                        {"ref": "cb", "name": "Chi bộ", "short_code": "CB", "kind": "party_cell"},
                        {
                            "ref": "t1",
                            "name": "Tổ đảng tổ 1",
                            "short_code": "TĐ1",
                            "kind": "party_group",
                            "parent": "cb",
                        },
                    ]
                },
            )
        ).json()["units"]
        _, officer_token = await make_user(domain_store, "officer", uuid.UUID(units["t1"]))
        _, chief_token = await make_user(domain_store, "chief", uuid.UUID(units["cb"]))
        officer, chief = bearer(officer_token), bearer(chief_token)
        registered = await client.post(
            "/models",
            headers=officer,
            json={
                "unit_id": units["t1"],
                "year": 2022,
                "field": "Dân vận khéo",
                "kind": "collective",
                "title": "Mô hình Dân vận khéo",
            },
        )
        assert registered.status_code == 201, registered.text
        model = registered.json()["id"]
        reported = await client.post(
            f"/models/{model}/reports",
            headers=officer,
            json={"text": "Kết quả", "metrics": {"households": 40}},
        )
        assert reported.status_code == 201, reported.text
        commended = await client.post(
            f"/models/{model}/commendations",
            headers=chief,
            json={"level": "grassroots", "by_unit_id": units["cb"], "citation": "Tuyên dương"},
        )
        assert commended.status_code == 200, commended.text
        listed = (
            await client.get("/models", params={"year": 2022, "unit": units["t1"]}, headers=officer)
        ).json()["items"]
        assert [(m["title"], m["reports"], m["commendations"]) for m in listed] == [
            ("Mô hình Dân vận khéo", 1, ["grassroots"])
        ]
        assert (await client.get("/models", params={"year": 2021}, headers=officer)).json()[
            "items"
        ] == []

        refusals = [
            (
                officer,
                f"/models/{model}/commendations",
                {"level": "grassroots", "by_unit_id": units["cb"], "citation": "x"},
                403,
                "forbidden",
            ),
            (
                chief,
                f"/models/{model}/commendations",
                {"level": "grassroots", "by_unit_id": units["cb"], "citation": "x"},
                409,
                "already-commended",
            ),
            (admin, f"/models/{uuid.uuid4()}/reports", {"text": "x"}, 404, "unknown-model"),
            (
                officer,
                f"/models/{model}/reports",
                {"text": "x", "effective_at": "2022-10-15T09:00:00"},
                422,
                "naive-time",
            ),
            (
                officer,
                f"/models/{model}/reports",
                {"text": "x", "effective_at": "2022-10-15T09:00:00+07:00"},
                422,
                "backdating-not-allowed",
            ),
            (
                officer,
                "/models",
                {
                    "unit_id": units["t1"],
                    "year": 1800,
                    "field": "x",
                    "kind": "collective",
                    "title": "x",
                },
                422,
                "invalid-year",
            ),
            (
                officer,
                "/models",
                {
                    "unit_id": units["cb"],
                    "year": 2022,
                    "field": "x",
                    "kind": "collective",
                    "title": "x",
                },
                403,
                "forbidden",
            ),
            (
                officer,
                "/models",
                {"unit_id": units["t1"], "year": 2022, "field": "x", "kind": "team", "title": "x"},
                400,
                "invalid-request",
            ),
        ]
        for headers, path, body, status, problem in refusals:
            answer = await client.post(path, json=body, headers=headers)
            assert (answer.status_code, answer.json()["type"]) == (
                status,
                f"/problems/{problem}",
            ), (path, answer.text)
