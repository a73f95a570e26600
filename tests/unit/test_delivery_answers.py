"""What a subscription records of a receiver's non-2xx answer: only the 3xx range is told that
redirects are not followed."""

from __future__ import annotations

import pytest

from services.domain.delivery import answered


@pytest.mark.parametrize(
    ("status", "recorded"),
    [
        (299, "answered 299"),
        (300, "answered 300 Multiple Choices (redirects are not followed)"),
        (399, "answered 399 (redirects are not followed)"),
        (400, "answered 400 Bad Request"),
    ],
)
def test_only_a_3xx_answer_says_redirects_are_not_followed(status: int, recorded: str) -> None:
    assert answered(status) == recorded
