"""Six more documents entered through HTTP exactly as written and read back (issue 21): a
provincial standing committee's plan, a ministry's letter to every province's department, a
district People's Committee letter with numbered sub-items, a youth-union branch letter, an
election committee's plan to the People's Councils, and a Party cell's notice to its members.
The texts are written for this test in the layouts of HD 36-HD/VPTW (Party) and NĐ 30/2020/NĐ-CP
(state); the other documents of the issue are in test_written_dues_http, test_group_leads_http,
test_plan_items_http and test_documents_that_give_less_http.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx

from events.store import EventStore
from projections import task_facts
from projections.projector import Projector
from services.api.app import create_app
from services.runtime.config import load_settings
from tests.http import api_client, ok
from tests.org import bearer, make_user

VIETNAM = timezone(timedelta(hours=7))
SVH = "Sở Văn hóa, Thể thao và Du lịch"
NOW = datetime(2021, 3, 2, 9, 0, tzinfo=VIETNAM)


def unit(ref: str, name: str, code: str, kind: str, parent: str | None = None) -> dict[str, Any]:
    return {"ref": ref, "name": name, "short_code": code, "kind": kind, "parent": parent}


TREE = {
    "units": [
        unit("cp", "Cả nước", "CN", "other"),
        unit("bvh", "Bộ Văn hóa, Thể thao và Du lịch", "BVHTTDL", "ministry", "cp"),
        unit("sl", "Tỉnh Sơn La", "SL", "other", "cp"),
        unit("ubsl", "Ủy ban nhân dân tỉnh Sơn La", "UBND", "people_committee", "sl"),
        unit("svhsl", f"{SVH} tỉnh Sơn La", "SVHTTDL", "department", "ubsl"),
        unit("db", "Tỉnh Điện Biên", "ĐB", "other", "cp"),
        unit("ubdb", "Ủy ban nhân dân tỉnh Điện Biên", "UBND", "people_committee", "db"),
        unit("svhdb", f"{SVH} tỉnh Điện Biên", "SVHTTDL", "department", "ubdb"),
        unit("hdsl", "Hội đồng nhân dân tỉnh Sơn La", "HĐND", "peoples_council", "sl"),
        unit("hddb", "Hội đồng nhân dân tỉnh Điện Biên", "HĐND", "peoples_council", "db"),
        unit("ubbc", "Ủy ban bầu cử tỉnh Sơn La", "UBBC", "election_committee", "sl"),
        unit("cb", "Chi bộ bản Ít Ong", "CB", "party_cell", "dukc"),
        unit("tu", "Tỉnh ủy Sơn La", "TU", "party_committee"),
        unit("btv", "Ban Thường vụ Tỉnh ủy", "BTVTU", "standing_committee", "tu"),
        unit("btg", "Ban Tuyên giáo Tỉnh ủy", "BTGTU", "party_board", "tu"),
        unit("hu1", "Huyện ủy Mường La", "HUML", "district", "tu"),
        unit("hu2", "Huyện ủy Thuận Châu", "HUTC", "district", "tu"),
        unit("tx", "Thành ủy Sơn La", "THU", "district", "tu"),
        unit("dukc", "Đảng ủy Khối các cơ quan tỉnh", "ĐUK", "party_committee", "tu"),
        unit("ubml", "Ủy ban nhân dân huyện Mường La", "UBND", "people_committee"),
        unit("pvh", "Phòng Văn hóa và Thông tin huyện", "PVHTT", "department", "ubml"),
        unit("pgd", "Phòng Giáo dục và Đào tạo huyện", "PGDĐT", "department", "ubml"),
        unit("xio", "Ủy ban nhân dân xã Ít Ong", "UBND", "commune", "ubml"),
        unit("dtn", "Đoàn Thanh niên xã Ít Ong", "ĐTN", "mass_organisation", "xio"),
        unit("cd1", "Chi đoàn bản Ít Ong", "CĐ1", "mass_organisation", "dtn"),
        unit("cd2", "Chi đoàn bản Phiêng Bay", "CĐ2", "mass_organisation", "dtn"),
        unit("th", "Trường THCS Ít Ong", "THCS", "school", "xio"),
    ]
}  # fmt: skip


class Clerk:
    """A clerk entering documents through the API, as written."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        return await ok(await self.client.post(path, json=body, headers=self.headers), status)

    async def document(self, draft: dict[str, Any], issue: dict[str, Any]) -> str:
        plan = str((await self.post("/plans", draft))["id"])
        await self.post(f"/plans/{plan}/issue", issue, 200)
        return plan

    async def task(self, plan: str, body: dict[str, Any]) -> Any:
        return await self.post(f"/plans/{plan}/assignments", body)

    async def view(self, plan: str) -> Any:
        return await ok(await self.client.get(f"/plans/{plan}", headers=self.headers))


async def test_four_documents_as_written(pool: asyncpg.Pool[Any], domain_store: EventStore) -> None:
    app = create_app(load_settings({}), pool=pool, clock=lambda: NOW)
    _, admin_token = await make_user(domain_store, "admin")
    async with api_client(app) as client:
        u = (await Clerk(client, bearer(admin_token)).post("/units/import", TREE))["units"]

        async def clerk_of(ref: str) -> Clerk:
            _, token = await make_user(domain_store, "chief", uuid.UUID(u[ref]))
            return Clerk(client, bearer(token))

        # 1. TỈNH ỦY SƠN LA / Số 45-KH/TU / Sơn La, ngày 02 tháng 3 năm 2021 / KẾ HOẠCH
        # tuyên truyền cuộc bầu cử đại biểu Quốc hội khóa XV và đại biểu HĐND các cấp nhiệm kỳ
        # 2021-2026. Căn cứ Chỉ thị số 45-CT/TW ngày 20/6/2020 của Bộ Chính trị ...
        # 1. Các huyện ủy, thành ủy, đảng ủy trực thuộc Tỉnh ủy xây dựng kế hoạch tuyên truyền,
        #    hoàn thành trong tháng 3/2021; Ban Tuyên giáo Tỉnh ủy hướng dẫn, theo dõi.
        # 2. Báo cáo sơ kết trước ngày 15/5/2021 (qua Ban Tuyên giáo Tỉnh ủy) để tổng hợp báo
        #    cáo Ban Bí thư.
        # Nơi nhận: - Ban Bí thư (b/c), - Ban Tuyên giáo Trung ương (b/c), - Như mục 1, - Lưu
        # Văn phòng Tỉnh ủy. T/M BAN THƯỜNG VỤ / PHÓ BÍ THƯ (Đã ký) Hoàng Văn Chất
        province = await clerk_of("tu")
        plan_45 = await province.document(
            {
                "kind": "KH",
                "issuer_unit_id": u["tu"],
                "title": "Tuyên truyền cuộc bầu cử đại biểu Quốc hội khóa XV và đại biểu Hội "
                "đồng nhân dân các cấp nhiệm kỳ 2021-2026",
                "implements": [{"number": "45-CT/TW", "issued_on": "20/6/2020"}],
            },
            {
                "number": "45-KH/TU",
                "place": "Sơn La",
                "issued_on": "ngày 02 tháng 3 năm 2021",
                "signer": {
                    "name": "Hoàng Văn Chất",
                    "title": "Phó Bí thư",
                    "authority": "TM",
                    "on_behalf_of": "Ban Thường vụ",
                    "signed_copy": True,
                },
                "distribution": [
                    {"text": "Ban Bí thư (b/c)"},
                    {"text": "Ban Tuyên giáo Trung ương (b/c)"},
                    {"text": "Như mục 1"},
                    {"text": "Lưu Văn phòng Tỉnh ủy"},
                ],
            },
        )
        districts = {
            "within": u["tu"],
            "kinds": ["district", "party_committee"],
            "text": "Các huyện ủy, thành ủy, đảng ủy trực thuộc Tỉnh ủy",
        }
        await province.task(
            plan_45,
            {
                "item": "1",
                "text": "Các huyện ủy, thành ủy, đảng ủy trực thuộc Tỉnh ủy xây dựng kế hoạch "
                "tuyên truyền, hoàn thành trong tháng 3/2021",
                "lead_groups": [districts],
                "coordinating_unit_ids": [u["btg"]],
                "due_date": "3/2021",
                "due_rule": "within_month",
                "due_text": "hoàn thành trong tháng 3/2021",
            },
        )
        await province.task(
            plan_45,
            {
                "item": "2",
                "text": "Báo cáo sơ kết trước ngày 15/5/2021 để tổng hợp báo cáo Ban Bí thư",
                "lead_groups": [districts],
                "report_via": "qua Ban Tuyên giáo Tỉnh ủy",
                "report_to_text": "Ban Bí thư",
                "due_date": "15/5/2021",
                "due_rule": "before",
                "due_text": "trước ngày 15/5/2021",
            },
        )

        # 2. BỘ VĂN HÓA, THỂ THAO VÀ DU LỊCH / Số: 702/BVHTTDL-VHCS / V/v tuyên truyền kỷ niệm
        # các ngày lễ lớn năm 2021 / Hà Nội, ngày 02 tháng 3 năm 2021 / Kính gửi: Sở Văn hóa,
        # Thể thao và Du lịch các tỉnh, thành phố trực thuộc Trung ương. ... báo cáo kết quả
        # về Bộ (qua Cục Văn hóa cơ sở) trong quý II/2021. KT. BỘ TRƯỞNG / THỨ TRƯỞNG
        ministry = await clerk_of("bvh")
        plan_702 = await ministry.document(
            {
                "kind": "CV",
                "issuer_unit_id": u["bvh"],
                "title": "Tuyên truyền kỷ niệm các ngày lễ lớn năm 2021",
            },
            {
                "number": "Số: 702/BVHTTDL-VHCS",
                "place": "Hà Nội",
                "issued_on": "02/03/2021",
                "signer": {
                    "name": "Tạ Quang Đông",
                    "title": "Thứ trưởng",
                    "authority": "KT",
                    "on_behalf_of": "Bộ trưởng",
                },
                "addressees": [
                    {"text": "Sở Văn hóa, Thể thao và Du lịch các tỉnh, thành phố trực thuộc "
                     "Trung ương"}
                ],
                "distribution": [{"text": "Như trên"}, {"text": "Lưu: VT, VHCS"}],
            },
        )  # fmt: skip
        letter_702 = await ministry.task(
            plan_702,
            {
                "text": "Tổ chức tuyên truyền kỷ niệm các ngày lễ lớn năm 2021, báo cáo kết quả "
                "về Bộ trong quý II/2021",
                "lead_groups": [
                    {
                        "within": u["cp"],
                        "kinds": ["department"],
                        "subtree": True,
                        "text": "Sở Văn hóa, Thể thao và Du lịch các tỉnh, thành phố",
                    }
                ],
                "report_via": "qua Cục Văn hóa cơ sở",
                "due_date": "II/2021",
                "due_rule": "within_quarter",
                "due_text": "trong quý II/2021",
            },
        )

        # 3. ỦY BAN NHÂN DÂN HUYỆN MƯỜNG LA / Số: 310/UBND-VX / V/v triển khai Tháng hành
        # động vì trẻ em năm 2021 / Mường La, ngày 02 tháng 3 năm 2021. 1. Phòng Văn hóa và
        # Thông tin: 1.1. ... chậm nhất ngày 31/5/2021; 1.2. ... trong ngày 01/6/2021. 2. Phòng
        # Giáo dục và Đào tạo chủ trì, phối hợp UBND xã Ít Ong ... năm 2021.
        district = await clerk_of("ubml")
        plan_310 = await district.document(
            {
                "kind": "CV",
                "issuer_unit_id": u["ubml"],
                "title": "Triển khai Tháng hành động vì trẻ em năm 2021",
            },
            {
                "number": "310/UBND-VX",
                "place": "Mường La",
                "issued_on": "02/03/2021",
                "signer": {
                    "name": "Lò Thị Xuân",
                    "title": "Phó Chủ tịch",
                    "authority": "KT",
                    "on_behalf_of": "Chủ tịch",
                    "outer_authority": "TM",
                    "outer_on_behalf_of": "Ủy ban nhân dân",
                },
            },
        )
        for item, text, on, rule, words in (
            ("1.2", "Tổ chức lễ phát động", "01/6/2021", "by", "trong ngày 01/6/2021"),
            ("1.1", "Treo băng rôn, khẩu hiệu", "31/5/2021", "by", "chậm nhất ngày 31/5/2021"),
        ):
            await district.task(
                plan_310,
                {
                    "item": item,
                    "text": text,
                    "lead_unit_ids": [u["pvh"]],
                    "due_date": on,
                    "due_rule": rule,
                    "due_text": words,
                },
            )
        await district.task(
            plan_310,
            {
                "item": "2",
                "text": "Phòng Giáo dục và Đào tạo chủ trì, phối hợp UBND xã Ít Ong tổ chức các "
                "hoạt động vui chơi cho trẻ em",
                "lead_unit_ids": [u["pgd"]],
                "coordinating_unit_ids": [u["xio"]],
                "due_date": "2021",
                "due_rule": "within_year",
                "due_text": "năm 2021",
            },
        )

        # 4. ĐOÀN TNCS HỒ CHÍ MINH / ĐOÀN XÃ ÍT ONG / Ít Ong, ngày 02 tháng 3 năm 2021 (no
        # number) / V/v ra quân Tháng Thanh niên năm 2021 / Kính gửi: Các chi đoàn trực thuộc.
        # - Ra quân dọn vệ sinh đường làng trước ngày 26/3/2021. - Thường xuyên tuyên truyền.
        # T/M BAN CHẤP HÀNH / BÍ THƯ / Quàng Văn Sơn
        youth = await clerk_of("dtn")
        plan_youth = await youth.document(
            {
                "kind": "CV",
                "issuer_unit_id": u["dtn"],
                "title": "Ra quân Tháng Thanh niên năm 2021",
            },
            {
                "place": "Ít Ong",
                "issued_on": "02/03/2021",
                "signer": {
                    "name": "Quàng Văn Sơn",
                    "title": "Bí thư",
                    "authority": "TM",
                    "on_behalf_of": "Ban Chấp hành",
                },
                "addressees": [{"text": "Các chi đoàn trực thuộc"}],
            },
        )
        branches = {"within": u["dtn"], "text": "Các chi đoàn trực thuộc"}
        await youth.task(
            plan_youth,
            {
                "text": "Ra quân dọn vệ sinh đường làng",
                "lead_groups": [branches],
                "due_date": "26/3/2021",
                "due_rule": "before",
                "due_text": "trước ngày 26/3/2021",
            },
        )
        await youth.task(
            plan_youth,
            {
                "text": "Thường xuyên tuyên truyền",
                "lead_groups": [branches],
                "due_text": "thường xuyên",
            },
        )

        # 5. ỦY BAN BẦU CỬ TỈNH SƠN LA / Số: 12/KH-UBBC / KẾ HOẠCH tổ chức hội nghị hiệp
        # thương / ... Thường trực Hội đồng nhân dân các tỉnh báo cáo danh sách trước ngày
        # 10/5/2021. TM. ỦY BAN BẦU CỬ / CHỦ TỊCH / Nguyễn Thái Hưng
        election = await clerk_of("ubbc")
        plan_12 = await election.document(
            {
                "kind": "KH",
                "issuer_unit_id": u["ubbc"],
                "title": "Tổ chức hội nghị hiệp thương giới thiệu người ứng cử",
            },
            {
                "number": "12/KH-UBBC",
                "place": "Sơn La",
                "issued_on": "02/03/2021",
                "signer": {
                    "name": "Nguyễn Thái Hưng",
                    "title": "Chủ tịch",
                    "authority": "TM",
                    "on_behalf_of": "Ủy ban bầu cử",
                },
            },
        )
        await election.task(
            plan_12,
            {
                "text": "Thường trực Hội đồng nhân dân các tỉnh báo cáo danh sách người ứng cử",
                "lead_groups": [
                    {
                        "within": u["cp"],
                        "kinds": ["peoples_council"],
                        "subtree": True,
                        "text": "Thường trực Hội đồng nhân dân các tỉnh",
                    }
                ],
                "due_date": "10/5/2021",
                "due_rule": "before",
                "due_text": "trước ngày 10/5/2021",
            },
        )

        # 6. ĐẢNG BỘ KHỐI ... / CHI BỘ BẢN ÍT ONG / Số 08-TB/CB / THÔNG BÁO kết luận của chi
        # bộ tại kỳ sinh hoạt tháng 3/2021: - Đảng viên đóng đảng phí trước ngày 10 hằng tháng.
        # - Tham gia tổng vệ sinh môi trường trong tháng 3/2021. Nơi nhận: Các đồng chí đảng
        # viên trong chi bộ; Lưu chi bộ. T/M CHI BỘ / BÍ THƯ / Lò Văn Ơn
        cell = await clerk_of("cb")
        plan_08 = await cell.document(
            {
                "kind": "TB",
                "issuer_unit_id": u["cb"],
                "title": "Kết luận của chi bộ tại kỳ sinh hoạt tháng 3/2021",
            },
            {
                "number": "08-TB/CB",
                "place": "Ít Ong",
                "issued_on": "02/03/2021",
                "signer": {"name": "Lò Văn Ơn", "title": "Bí thư", "authority": "TM",
                           "on_behalf_of": "Chi bộ"},
                "distribution": [
                    {"text": "Các đồng chí đảng viên trong chi bộ"},
                    {"text": "Lưu chi bộ"},
                ],
            },
        )  # fmt: skip
        await cell.post(
            f"/plans/{plan_08}/items",
            {
                "text": "Đảng viên đóng đảng phí trước ngày 10 hằng tháng",
                "addressed_to": "đảng viên",
                "due_text": "trước ngày 10 hằng tháng",
            },
        )
        await cell.post(
            f"/plans/{plan_08}/items",
            {
                "text": "Tham gia tổng vệ sinh môi trường",
                "addressed_to": "đảng viên",
                "due_date": "3/2021",
                "due_rule": "within_month",
                "due_text": "trong tháng 3/2021",
            },
        )

        projector = Projector(domain_store, task_facts.MODEL)
        assert await projector.claim()
        await projector.catch_up_to_the_end()
        views = {
            "45": await province.view(plan_45),
            "702": await ministry.view(plan_702),
            "310": await district.view(plan_310),
            "youth": await youth.view(plan_youth),
            "12": await election.view(plan_12),
            "08": await cell.view(plan_08),
        }
        figures_45 = await ok(
            await client.get(f"/plans/{plan_45}/compliance", headers=province.headers)
        )

    def read(view: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(t["item"], t["lead_unit"]["name"], t["due"], t["due_text"]) for t in view["tasks"]]

    v45 = views["45"]
    assert (v45["issued"]["number"], v45["issued"]["issued_on"]) == ("45-KH/TU", "2021-03-02")
    assert v45["implements"][0]["number"] == "45-CT/TW"
    assert v45["issued"]["signer"]["signed_copy"] is True
    assert [line["text"] for line in v45["issued"]["distribution"]] == [
        "Ban Bí thư (b/c)",
        "Ban Tuyên giáo Trung ương (b/c)",
        "Như mục 1",
        "Lưu Văn phòng Tỉnh ủy",
    ]
    leads = [
        "Huyện ủy Mường La",
        "Huyện ủy Thuận Châu",
        "Thành ủy Sơn La",
        "Đảng ủy Khối các cơ quan tỉnh",
    ]
    march, may = "2021-03-31T17:00:00+00:00", "2021-05-14T17:00:00+00:00"
    assert sorted(read(v45)) == sorted(
        [("1", name, march, "hoàn thành trong tháng 3/2021") for name in leads]
        + [("2", name, may, "trước ngày 15/5/2021") for name in leads]
    )
    assert figures_45["assigned"] == 8 and figures_45["open_within_deadline"] == 8

    v702 = views["702"]
    assert v702["issued"]["number"] == "702/BVHTTDL-VHCS"
    assert v702["issued"]["number_warnings"] == []
    assert v702["issued"]["addressees"][0]["text"].startswith("Sở Văn hóa, Thể thao và Du lịch")
    june = "2021-06-30T17:00:00+00:00"
    assert sorted(read(v702)) == [
        (None, f"{SVH} tỉnh Sơn La", june, "trong quý II/2021"),
        (None, f"{SVH} tỉnh Điện Biên", june, "trong quý II/2021"),
    ]
    assert len(letter_702["assignments"]) == 2

    v310 = views["310"]
    assert v310["issued"]["number"] == "310/UBND-VX"
    assert v310["issued"]["signer"]["outer_on_behalf_of"] == "Ủy ban nhân dân"
    culture, education = "Phòng Văn hóa và Thông tin huyện", "Phòng Giáo dục và Đào tạo huyện"
    assert read(v310) == [  # by item: 1.1 before 1.2 whatever the order of entry
        ("1.1", culture, "2021-05-31T17:00:00+00:00", "chậm nhất ngày 31/5/2021"),
        ("1.2", culture, "2021-06-01T17:00:00+00:00", "trong ngày 01/6/2021"),
        ("2", education, "2021-12-31T17:00:00+00:00", "năm 2021"),
    ]
    assert v310["tasks"][2]["coordinating_units"][0]["name"] == "Ủy ban nhân dân xã Ít Ong"

    youth_view = views["youth"]
    assert youth_view["issued"]["number"] is None  # the letter has no number
    assert youth_view["issued"]["addressees"] == [
        {"text": "Các chi đoàn trực thuộc", "unit_id": None}
    ]
    assert sorted(read(youth_view), key=lambda r: (r[2] is None, r[1])) == [
        (None, "Chi đoàn bản Phiêng Bay", "2021-03-25T17:00:00+00:00", "trước ngày 26/3/2021"),
        (None, "Chi đoàn bản Ít Ong", "2021-03-25T17:00:00+00:00", "trước ngày 26/3/2021"),
        (None, "Chi đoàn bản Phiêng Bay", None, "thường xuyên"),
        (None, "Chi đoàn bản Ít Ong", None, "thường xuyên"),
    ]  # fmt: skip

    v12 = views["12"]
    assert v12["issued"]["number"] == "12/KH-UBBC" and v12["issuer_unit"]["name"] == (
        "Ủy ban bầu cử tỉnh Sơn La"
    )
    may10 = "2021-05-09T17:00:00+00:00"
    assert sorted(read(v12)) == [
        (None, "Hội đồng nhân dân tỉnh Sơn La", may10, "trước ngày 10/5/2021"),
        (None, "Hội đồng nhân dân tỉnh Điện Biên", may10, "trước ngày 10/5/2021"),
    ]

    v08 = views["08"]
    assert (v08["kind"], v08["issued"]["number"]) == ("TB", "08-TB/CB")
    assert [line["text"] for line in v08["issued"]["distribution"]] == [
        "Các đồng chí đảng viên trong chi bộ",
        "Lưu chi bộ",
    ]
    assert v08["tasks"] == []  # nothing to chase: the items name no unit
    assert [(i["text"], i["addressed_to"], i["due"], i["stated_due"]) for i in v08["items"]] == [
        (
            "Đảng viên đóng đảng phí trước ngày 10 hằng tháng",
            "đảng viên",
            None,
            {"text": "trước ngày 10 hằng tháng", "on": None, "rule": None},
        ),
        (
            "Tham gia tổng vệ sinh môi trường",
            "đảng viên",
            "2021-04-01T00:00:00+07:00",
            {"text": "trong tháng 3/2021", "on": "2021-03-31", "rule": "within_month"},
        ),
    ]
