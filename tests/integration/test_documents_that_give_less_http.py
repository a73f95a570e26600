"""Documents that give less, entered as written (issue 21): a letter quoted in the news with no
number, place, signer or date; a state letter written "Số: 111/CV-UBND"; a date in words; a
number whose issuer symbol is not the issuing unit's. Nothing is filled in."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

TREE = {
    "units": [
        {
            "ref": "h",
            "name": "Ủy ban nhân dân huyện Mường La",
            "short_code": "UBND",
            "kind": "people_committee",
        },
        {
            "ref": "x",
            "name": "Ủy ban nhân dân xã Ít Ong",
            "short_code": "UBND",
            "kind": "people_committee",
            "parent": "h",
        },
        {
            "ref": "vh",
            "name": "Phòng Văn hóa và Thông tin huyện",
            "short_code": "VHTT",
            "kind": "department",
            "parent": "h",
        },
    ]
}

# "Báo Sơn La điện tử: UBND huyện Mường La vừa ban hành văn bản chỉ đạo các xã, thị trấn
# tăng cường công tác phòng, chống dịch bệnh trên đàn gia súc." No number, place, signer, date.
NEWS_TITLE = "Tăng cường công tác phòng, chống dịch bệnh trên đàn gia súc"


async def test_a_document_is_issued_with_what_it_states_and_nothing_more(
    pool: asyncpg.Pool[Any], domain_store: EventStore
) -> None:
    app = create_app(load_settings({}), pool=pool)
    _, admin_token = await make_user(domain_store, "admin")
    admin = bearer(admin_token)
    async with api_client(app) as client:
        u = (await ok(await client.post("/units/import", json=TREE, headers=admin), 201))["units"]
        _, chief_token = await make_user(domain_store, "chief", uuid.UUID(u["h"]))
        chief = bearer(chief_token)

        async def draft(kind: str, title: str) -> str:
            body = {"kind": kind, "issuer_unit_id": u["h"], "title": title}
            return str((await ok(await client.post("/plans", json=body, headers=chief), 201))["id"])

        news = await draft("CV", NEWS_TITLE)
        issued_news = await client.post(f"/plans/{news}/issue", json={}, headers=chief)
        another = await draft("CV", NEWS_TITLE + " (lần 2)")
        issued_another = await client.post(f"/plans/{another}/issue", json={}, headers=chief)
        news_view = await ok(await client.get(f"/plans/{news}", headers=chief))

        letter = await draft("CV", "Về việc tổ chức Tết trồng cây năm 2021")
        await ok(
            await client.post(
                f"/plans/{letter}/issue",
                json={
                    "number": "Số: 111 / CV-UBND",
                    "place": "Mường La",
                    "issued_on": "ngày 28 tháng 8 năm 2014",
                    "signer": {
                        "name": "Lường Văn Thắng",
                        "title": "Phó Chủ tịch",
                        "authority": "KT",
                        "on_behalf_of": "Chủ tịch",
                        "outer_authority": "TM",
                        "outer_on_behalf_of": "Ủy ban nhân dân",
                        "signed_copy": True,
                    },
                    "addressees": [
                        {"text": "Ủy ban nhân dân các xã, thị trấn"},
                        {"text": "Phòng Văn hóa và Thông tin huyện", "unit_id": u["vh"]},
                    ],
                    "distribution": [
                        {"text": "Như kính gửi"},
                        {"text": "Các đồng chí trong Ban Chấp hành"},
                        {"text": "Lưu: VT"},
                    ],
                    "annexes": ["Kèm theo Kế hoạch số 05/KH-UBND ngày 02/01/2014"],
                },
                headers=admin,  # a date in the past is history entered late: an admin's
            )
        )
        letter_view = await ok(await client.get(f"/plans/{letter}", headers=chief))

        borrowed = await draft("KH", "Kế hoạch tuyên truyền phòng, chống dịch bệnh")
        await ok(
            await client.post(
                f"/plans/{borrowed}/issue", json={"number": "12-KH/ĐU"}, headers=chief
            )
        )
        borrowed_view = await ok(await client.get(f"/plans/{borrowed}", headers=chief))
        twice = await draft("KH", "Kế hoạch tuyên truyền (nhập lại)")
        taken = await client.post(
            f"/plans/{twice}/issue", json={"number": "12-KH/ĐU"}, headers=chief
        )
        listed = await ok(await client.get("/plans", params={"q": "111"}, headers=chief))

    assert issued_news.status_code == 200, issued_news.text
    assert issued_another.status_code == 200, issued_another.text  # no number: none reserved
    assert news_view["status"] == "issued"
    issued = news_view["issued"]
    assert (issued["number"], issued["place"], issued["signer"], issued["issued_on"]) == (
        None,
        None,
        None,
        None,
    )
    assert issued["numbering_period"] is None
    shown = letter_view["issued"]
    assert shown["number"] == "111/CV-UBND"  # "Số:" and the spaces are not part of it
    assert shown["number_normalized"] == "111/CV-UBND"
    assert shown["issued_on"] == "2014-08-28" and shown["numbering_period"] == "2014"
    assert shown["signer"] == {
        "name": "Lường Văn Thắng",
        "title": "Phó Chủ tịch",
        "authority": "KT",
        "on_behalf_of": "Chủ tịch",
        "outer_authority": "TM",
        "outer_on_behalf_of": "Ủy ban nhân dân",
        "signed_copy": True,
    }
    assert shown["addressees"] == [
        {"text": "Ủy ban nhân dân các xã, thị trấn", "unit_id": None},
        {"text": "Phòng Văn hóa và Thông tin huyện", "unit_id": u["vh"]},
    ]
    assert [line["text"] for line in shown["distribution"]] == [
        "Như kính gửi",
        "Các đồng chí trong Ban Chấp hành",
        "Lưu: VT",
    ]
    assert shown["annexes"] == ["Kèm theo Kế hoạch số 05/KH-UBND ngày 02/01/2014"]
    assert shown["number_warnings"] == ["spaces around separators"]
    assert borrowed_view["issued"]["number_warnings"] == [
        "issuer symbol ĐU is not the issuing unit's (UBND)"
    ]
    assert borrowed_view["issued"]["issued_on"] is None  # not today's date by default
    # Undated, the number is still the issuer's once.
    assert taken.status_code == 409 and taken.json()["type"].endswith("/document-number-taken")
    assert [item["number"] for item in listed["items"]] == ["111/CV-UBND"]
