"""Waiting on a condition instead of sleeping: poll until it holds, with a deadline, so that a
test is as fast as the machine allows and still passes on a loaded one."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.05,
) -> None:
    """Return once `check()` (a function or a coroutine function) is true; fail the test when
    `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(interval)
