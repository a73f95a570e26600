"""Webhook groundwork: the operator's allow-list of targets, and the signature a receiver checks."""

from __future__ import annotations

import pytest

from services.handlers.webhooks import AllowList, TargetRefused, check_target, signature, verify

ALLOWED = AllowList.parse(
    ["hooks.snv.gov.vn", "*.sotttt.gov.vn", "10.20.0.0/16:8080", "", "127.0.0.1:9000-9001"]
)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("https://hooks.snv.gov.vn/events", ["203.162.4.191"]),
        ("https://api.sotttt.gov.vn/hook", ["203.162.10.5"]),
        ("http://10.20.3.4:8080/hook", []),  # a network the operator named
        ("http://127.0.0.1:9000/receiver", []),  # loopback, named exactly (tests)
        ("https://dept.sotttt.gov.vn/x", ["10.20.9.9"]),  # private, in a named network
    ],
)
def test_allowed_targets(url: str, resolved: list[str]) -> None:
    check_target(url, ALLOWED, resolved)


@pytest.mark.parametrize(
    ("url", "resolved", "why"),
    [
        ("ftp://hooks.snv.gov.vn/x", ["203.162.4.191"], "only http and https"),
        ("https://evil.example.com/x", ["93.184.216.34"], "not in the operator's allow-list"),
        ("https://hooks.snv.gov.vn.evil.com/x", ["1.2.3.4"], "not in the operator's allow-list"),
        ("http://127.0.0.2/x", [], "not in the operator's allow-list"),
        ("http://[::1]/x", [], "not in the operator's allow-list"),
        ("https://api.sotttt.gov.vn/x", ["192.168.1.10"], "private or loopback"),
        ("https://api.sotttt.gov.vn/x", ["169.254.169.254"], "private or loopback"),
        ("https://api.sotttt.gov.vn/x", [], "does not resolve"),
        ("https://user:pw@hooks.snv.gov.vn/x", ["203.162.4.191"], "credentials"),
    ],
)
def test_refused_targets(url: str, resolved: list[str], why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check_target(url, ALLOWED, resolved)


def test_a_receiver_verifies_the_signature_over_timestamp_and_body() -> None:
    secret, body = b"bi-mat-cua-so", b'[{"type": "AssignmentIssued"}]'
    header = signature(secret, 1_766_000_000, body)
    assert header.startswith("t=1766000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(secret, header, body, now=1_766_000_100)
    assert not verify(secret, header, body + b" ", now=1_766_000_100)  # body changed
    assert not verify(b"other", header, body, now=1_766_000_100)  # wrong secret
    assert not verify(secret, header, body, now=1_766_000_000 + 301)  # replayed late
    assert not verify(secret, "v1=abc", body, now=1_766_000_000)  # malformed
