"""Webhook targets and errors (security review row 9): ports other than 80/443 only when the
allow-list names them; a failed delivery records the status and its reason phrase, never what
the receiver wrote."""

from __future__ import annotations

import pytest

from services.domain.delivery import answered, no_answer
from services.handlers.webhooks import AllowList, TargetRefused, check_target

ALLOWED = AllowList.parse(
    [
        "hooks.snv.gov.vn",
        "hooks.snv.gov.vn:8443",
        "*.sotttt.gov.vn:9000-9100",
        "10.0.0.0/8:9000",
        "127.0.0.1",
        "[::1]:8080",
        "203.0.113.7",
    ]
)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("https://hooks.snv.gov.vn/x", ["203.162.4.191"]),  # 443
        ("http://hooks.snv.gov.vn:80/x", ["203.162.4.191"]),
        ("https://hooks.snv.gov.vn:8443/x", ["203.162.4.191"]),  # named with its host
        ("https://api.sotttt.gov.vn:9050/x", ["203.162.10.5"]),  # a range on a suffix
        ("http://10.1.2.3:9000/x", []),  # a network and its port
        ("http://[::1]:8080/x", []),
        ("http://127.0.0.1/x", []),
    ],
)
def test_ports_the_allow_list_names(url: str, resolved: list[str]) -> None:
    check_target(url, ALLOWED, resolved)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://127.0.0.1:0/x", []),
        ("http://127.0.0.1:5432/x", []),
        ("http://127.0.0.1:6379/x", []),
        ("https://203.0.113.7:22/x", []),
        ("https://hooks.snv.gov.vn:8444/x", ["203.162.4.191"]),
        ("https://api.sotttt.gov.vn:9101/x", ["203.162.10.5"]),
        ("http://10.1.2.3:9001/x", []),
        ("http://[::1]:8081/x", []),
    ],
)
def test_other_ports_are_refused(url: str, resolved: list[str]) -> None:
    with pytest.raises(TargetRefused, match="port"):
        check_target(url, ALLOWED, resolved)


@pytest.mark.parametrize("entry", ["host:0", "host:70000", "host:abc", "10.0.0.0/8:9-1", "[::1]x"])
def test_a_malformed_port_in_the_allow_list_is_an_error(entry: str) -> None:
    with pytest.raises(ValueError):
        AllowList.parse([entry])


def test_an_answer_is_recorded_by_its_status_and_reason_phrase_only() -> None:
    assert answered(500) == "answered 500 Internal Server Error"
    assert answered(404) == "answered 404 Not Found"
    assert answered(302) == "answered 302 Found (redirects are not followed)"
    assert answered(599) == "answered 599"
    assert no_answer(5.0) == "could not connect, or no answer within 5 s"
