"""The five seed campaigns, as data. Every document number, date and unit name below carries
the seed it comes from and the words of that seed that show it (`evidence`); a test checks each
against ../shared/seeds. What the seeds do not say is marked as such, never invented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.organisation import UnitKind
from events.plans import Authority, PlanKind, RecipientRole, ReviewStep

NOT_IN_SEEDS = "không ghi trong bản tin"


@dataclass(frozen=True)
class Fact:
    seed: str  # the seed file's number: "000".."004", or "" for what the seeds do not say
    evidence: str  # words of that seed


@dataclass(frozen=True)
class DemoUnit:
    ref: str
    name: str
    short_code: str
    kind: UnitKind
    parent: str | None
    fact: Fact


@dataclass(frozen=True)
class DemoTask:
    ref: str
    item: str
    text: str
    lead: str
    due: str  # ISO instant, Asia/Ho_Chi_Minh
    due_fact: Fact
    report_to: str | None = None
    coordinating: tuple[str, ...] = ()
    review_steps: tuple[ReviewStep, ...] = ("approval",)


@dataclass(frozen=True)
class DemoPlan:
    ref: str
    kind: PlanKind
    title: str
    issuer: str
    number: str
    number_fact: Fact
    issued_on: str  # ISO date
    date_fact: Fact
    place: str
    signer: tuple[str, str, Authority | None, str | None]  # name, title, authority, for
    implements: tuple[tuple[str, str | None, Fact], ...] = ()  # number, ISO date, fact
    phases: tuple[tuple[str, str, str], ...] = ()  # id, name, bounds
    recipients: tuple[tuple[str, RecipientRole], ...] = ()
    tasks: tuple[DemoTask, ...] = ()


CAN_THO = (
    DemoUnit(
        "ct-tu",
        "Thành ủy Cần Thơ",
        "TU",
        "party_committee",
        None,
        Fact("001", "Ban Thường vụ Thành ủy Cần Thơ"),
    ),
    DemoUnit(
        "ct-btv",
        "Ban Thường vụ Thành ủy",
        "BTVTU",
        "standing_committee",
        "ct-tu",
        Fact("000", "Ban Thường vụ Thành ủy"),
    ),
    DemoUnit(
        "ct-btg",
        "Ban Tuyên giáo Thành ủy",
        "BTGTU",
        "party_board",
        "ct-tu",
        Fact("001", "Ban Tuyên giáo Thành ủy"),
    ),
    DemoUnit(
        "ct-bdv",
        "Ban Dân vận Thành ủy",
        "BDVTU",
        "party_board",
        "ct-tu",
        Fact("000", "Ban Dân vận Thành ủy"),
    ),
    DemoUnit(
        "ct-vp", "Văn phòng Thành ủy", "VPTU", "office", "ct-tu", Fact("000", "Văn phòng Thành ủy")
    ),
    DemoUnit("ct-bao", "Báo Cần Thơ", "BCT", "press", "ct-tu", Fact("000", "Báo Cần Thơ")),
    DemoUnit(
        "ct-dai",
        "Đài Phát thanh và Truyền hình thành phố Cần Thơ",
        "ĐPTTH",
        "press",
        "ct-tu",
        Fact("001", "Đài Phát thanh và Truyền hình thành phố Cần Thơ"),
    ),
    DemoUnit(
        "ct-skhdt",
        "Sở Kế hoạch và Đầu tư",
        "SKHĐT",
        "department",
        "ct-tu",
        Fact("001", "Sở Kế hoạch và Đầu tư"),
    ),
)
SON_LA = (
    DemoUnit(
        "sl-du",
        "Đảng ủy SLĐT BXH Sơn La",
        "ĐUSLĐTBXH",
        "party_committee",
        None,
        Fact("003", "Đảng ủy SLĐT BXH Sơn La"),
    ),
    DemoUnit(
        "sl-cb",
        "Chi bộ Cơ sở Điều trị nghiện ma túy tỉnh",
        "CB",
        "party_cell",
        "sl-du",
        Fact("003", "Chi bộ Cơ sở Điều trị nghiện ma túy tỉnh"),
    ),
    DemoUnit(
        "sl-cd",
        "Ban Chấp hành Công đoàn",
        "BCHCĐ",
        "mass_organisation",
        "sl-cb",
        Fact("003", "Ban Chấp hành Công đoàn"),
    ),
    DemoUnit("sl-t1", "Tổ đảng tổ 1", "TĐ1", "party_group", "sl-cb", Fact("003", "Tổ đảng tổ 1")),
)
HOME_AFFAIRS = (
    DemoUnit(
        "ub",
        "Ủy ban nhân dân tỉnh",
        "UBND",
        "people_committee",
        None,
        Fact("004", "Ủy ban nhân dân tỉnh"),
    ),
    DemoUnit("snv", "Sở Nội vụ", "SNV", "department", "ub", Fact("004", "Sở Nội vụ")),
)
UNITS = CAN_THO + SON_LA + HOME_AFFAIRS

END_OF_MAY_2019 = Fact("001", "cuối tháng 5/2019")
ANNIVERSARY_2020 = Fact("000", "15/10/2020")
UNSIGNED: tuple[str, str, Authority | None, str | None] = (
    NOT_IN_SEEDS,
    "TM. Ban Thường vụ",
    "TM",
    "Ban Thường vụ Thành ủy",
)

PLANS = (
    DemoPlan(
        "1293",
        "CV",
        "Công tác tuyên truyền Đại hội đại biểu Đảng bộ thành phố lần thứ XIV, "
        "nhiệm kỳ 2020 – 2025",
        "ct-btv",
        "1293-CV/TU",
        Fact("001", "1293-CV/TU"),
        "2019-05-06",
        Fact("001", "06/5/2019"),
        "Cần Thơ",
        UNSIGNED,
        recipients=(
            ("ct-btg", "implement"),
            ("ct-bao", "implement"),
            ("ct-dai", "implement"),
            ("ct-skhdt", "implement"),
        ),
        tasks=(
            DemoTask(
                "1293-1",
                "1",
                "Tham mưu Ban Thường vụ Thành ủy ban hành Kế hoạch tuyên truyền Đại hội "
                "Đảng bộ các cấp, Đại hội đại biểu Đảng bộ thành phố Cần Thơ, nhiệm kỳ "
                "2020 - 2025",
                "ct-btg",
                "2019-06-01T00:00:00+07:00",
                END_OF_MAY_2019,
            ),
            DemoTask(
                "1293-2a",
                "2",
                "Chủ động xây dựng kế hoạch tuyên truyền; xây dựng chuyên trang, chuyên mục",
                "ct-bao",
                "2019-06-01T00:00:00+07:00",
                END_OF_MAY_2019,
            ),
            DemoTask(
                "1293-2b",
                "2",
                "Xây dựng phim tài liệu phục vụ Đại hội đại biểu Đảng bộ thành phố Cần Thơ "
                "lần thứ XIV, báo cáo Ban Thường vụ Thành ủy xem xét, cho ý kiến",
                "ct-dai",
                "2019-06-01T00:00:00+07:00",
                END_OF_MAY_2019,
                review_steps=("appraisal", "approval"),
            ),
            DemoTask(
                "1293-3",
                "3",
                "Thống kê các số liệu về tình hình kinh tế - xã hội của thành phố Cần Thơ",
                "ct-skhdt",
                "2019-06-01T00:00:00+07:00",
                END_OF_MAY_2019,
            ),
        ),
    ),
    DemoPlan(
        "227",
        "KH",
        "Kế hoạch tổ chức các hoạt động chào mừng kỷ niệm 90 năm Ngày truyền thống công tác "
        "Dân vận của Đảng (15/10/1930 - 15/10/2020)",
        "ct-btv",
        "227-KH/TU",
        Fact("000", "Kế hoach 227"),
        "2020-08-27",
        Fact("000", "27/08/2020"),
        "Cần Thơ",
        UNSIGNED,
        implements=(("17-KH/BDVTW", "2020-06-02", Fact("000", "17-KH/BDVTW ngày 02/6/2020")),),
        recipients=(
            ("ct-vp", "implement"),
            ("ct-bdv", "implement"),
            ("ct-bao", "implement"),
            ("ct-dai", "implement"),
        ),
        tasks=(
            DemoTask(
                "227-2",
                "2",
                "Thẩm định nội dung, chương trình, kinh phí tổ chức các hoạt động kỷ niệm 90 "
                "năm Ngày truyền thống công tác Dân vận của Đảng",
                "ct-vp",
                "2020-10-15T00:00:00+07:00",
                ANNIVERSARY_2020,
                coordinating=("ct-bdv",),
            ),
            DemoTask(
                "227-3a",
                "3",
                "Xây dựng chuyên trang, chuyên mục, tăng cường các tin bài tuyên truyền",
                "ct-bao",
                "2020-10-15T00:00:00+07:00",
                ANNIVERSARY_2020,
            ),
            DemoTask(
                "227-3b",
                "3",
                "Xây dựng chuyên trang, chuyên mục, tăng cường các tin bài tuyên truyền",
                "ct-dai",
                "2020-10-15T00:00:00+07:00",
                ANNIVERSARY_2020,
            ),
            DemoTask(
                "227-4",
                "4",
                "Chủ trì, phối hợp Văn phòng Thành ủy tham mưu chuẩn bị đầy đủ các phần "
                "việc theo nội dung phân công",
                "ct-bdv",
                "2020-10-15T00:00:00+07:00",
                ANNIVERSARY_2020,
                coordinating=("ct-vp",),
            ),
        ),
    ),
    DemoPlan(
        "334",
        "KH",
        "Triển khai hướng dẫn tuyên truyền kỷ niệm 92 năm Ngày truyền thống công tác dân vận "
        "của Đảng (15/10/1930-15/10/2022); 23 năm Ngày Dân vận của cả nước (15/10/1999-15/10/2022)",
        "sl-cb",
        "334-KH/CB",
        Fact("003", "334-KH/CB"),
        "2022-10-12",
        Fact("003", "ngày 12 tháng 10 năm 2022"),
        "Sơn La",
        ("Đoàn Văn Tú", "Bí thư", "TM", "Chi bộ"),
        implements=(("16-HD/BTGĐUK", "2022-10-03", Fact("003", "16-HD/BTGĐUK ngày 03/10/2022")),),
        recipients=(("sl-du", "for_report"), ("sl-cd", "implement"), ("sl-t1", "implement")),
        tasks=(
            DemoTask(
                "334-2a",
                "2",
                "Báo cáo kết quả triển khai xây dựng mô hình Dân vận khéo đã đăng ký năm 2022 "
                "về Ban Chi ủy để tổng hợp",
                "sl-cd",
                "2022-10-16T00:00:00+07:00",
                Fact("003", "16/10/2022"),
                report_to="sl-cb",
            ),
            DemoTask(
                "334-2b",
                "2",
                "Báo cáo kết quả triển khai xây dựng mô hình Dân vận khéo đã đăng ký năm 2022 "
                "về Ban Chi ủy để tổng hợp",
                "sl-t1",
                "2022-10-16T00:00:00+07:00",
                Fact("003", "16/10/2022"),
                report_to="sl-cb",
            ),
            DemoTask(
                "334-1",
                "1",
                "Tổng hợp báo cáo kết quả tổ chức các hoạt động kỷ niệm và báo cáo kết quả "
                "công tác dân vận",
                "sl-cb",
                "2022-10-17T00:00:00+07:00",
                Fact("003", "17/10/2022"),
                report_to="sl-du",
            ),
        ),
    ),
    DemoPlan(
        "107",
        "KH",
        "Kế hoạch tuyên truyền đại hội đảng bộ các cấp, Đại hội đại biểu Đảng bộ tỉnh lần thứ "
        "XVI và Đại hội đại biểu toàn quốc lần thứ XIII của Đảng",
        "snv",
        "107/KH-SNV",
        Fact("004", "107/KH-SNV"),
        "2020-02-05",
        Fact("004", "05/02/2020"),
        NOT_IN_SEEDS,
        (NOT_IN_SEEDS, "Giám đốc Sở", None, None),
        implements=(
            ("135-KH/TU", "2019-12-31", Fact("004", "135-KH/TU ngày 31 tháng 12 năm 2019")),
            ("375/UBND-NV", "2020-01-15", Fact("004", "375/UBND-NV ngày 15 tháng 01 năm 2020")),
        ),
        phases=(
            ("1", "Đợt 1", "Từ nay đến trước thời điểm Đại hội lần thứ XVI của Đảng bộ tỉnh"),
            ("2", "Đợt 2", "Trước, trong và sau Đại hội đại biểu Đảng bộ tỉnh lần thứ XVI"),
            (
                "3",
                "Đợt 3",
                "Từ sau Đại hội đại biểu Đảng bộ tỉnh lần thứ XVI đến Đại hội đại biểu "
                "toàn quốc lần thứ XIII của Đảng",
            ),
        ),
        recipients=(("ub", "for_report"),),
    ),
)

# Dates of what happened, each from its seed.
FACT_DATES = {
    "2019-05-14": Fact("001", "14/05/2019"),
    "2020-06-19": Fact("002", "19-6-2020"),
    "2020-08-27": Fact("000", "27/08/2020"),
    "2022-10-15": Fact("003", "15/10/2022"),
    "2022-10-16": Fact("003", "16/10/2022"),
    "2022-10-17": Fact("003", "17/10/2022"),
}
PROGRESS_2020 = {"tasks_done": 60, "tasks_total": 85, "works": 469, "value_dong": 626_000_000_000}
PROGRESS_FACTS = (
    Fact("002", "60/85 nhiệm vụ"),
    Fact("002", "469 công trình"),
    Fact("002", "626 tỉ đồng"),
)
MODEL_FACT = Fact("003", "mô hình Dân vận khéo đã đăng ký năm 2022")
OBSTACLE_FACT = Fact("001", "có khó khăn, vướng mắc báo cáo Thường trực Thành ủy")

# What the issue asks for beyond the seeds: the 2025 reorganisation of the party boards.
REORGANISATION: dict[str, Any] = {
    "successor": ("ct-btgdv", "Ban Tuyên giáo và Dân vận Thành ủy", "BTGDVTU", "party_board"),
    "merged": ("ct-btg", "ct-bdv"),
    "moved": ("ct-bao", "ct-btgdv"),
    "on": "2025-03-01",
}


def all_facts() -> list[Fact]:
    facts = [unit.fact for unit in UNITS]
    for plan in PLANS:
        facts += [plan.number_fact, plan.date_fact]
        facts += [fact for _, _, fact in plan.implements]
        facts += [task.due_fact for task in plan.tasks]
    facts += list(FACT_DATES.values()) + list(PROGRESS_FACTS) + [MODEL_FACT, OBSTACLE_FACT]
    return facts
