"""Fair-use settings and the in-process counts (no REDIS_URL)."""

from __future__ import annotations

import pytest

from services.api.fair_use import LocalCounters
from services.runtime.config import ConfigError, load_settings


def test_limits_have_generous_defaults_and_bounds() -> None:
    settings = load_settings({})
    assert (settings.commands_per_minute, settings.live_connections_per_user) == (1200, 20)
    assert load_settings({"COMMANDS_PER_MINUTE": "0"}).commands_per_minute == 0  # no limit
    for name, value in (("LIVE_CONNECTIONS_PER_USER", "0"), ("COMMANDS_PER_MINUTE", "-1")):
        with pytest.raises(ConfigError, match="outside"):
            load_settings({name: value})


async def test_local_counts_windows_and_leases() -> None:
    counters = LocalCounters()
    counts = [(await counters.hit("t", 60_000))[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert 0 < (await counters.hit("t", 60_000))[1] <= 60_000
    assert (await counters.hit("other", 60_000))[0] == 1
    assert [await counters.acquire("u", 2, m, 60_000) for m in "abc"] == [True, True, False]
    await counters.release("u", "a")
    assert await counters.acquire("u", 2, "c", 60_000)
    assert not await counters.acquire("u", 2, "d", 60_000)
    assert await counters.acquire("u", 3, "d", 0) and await counters.acquire("u", 3, "e", 60_000)
    # "d" held a lease of no time: gone by the next count (b, c, e held; f is the fourth).
    assert not await counters.acquire("u", 3, "f", 60_000)
    assert await counters.acquire("u", 4, "f", 60_000)


@pytest.mark.parametrize("entry", ["host:0", "host:70000", "host:", "10.0.0.0/8:9-1", "[::1]x"])
def test_a_malformed_port_in_the_webhook_allow_list_stops_the_process(entry: str) -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOWED_TARGETS"):
        load_settings({"WEBHOOK_ALLOWED_TARGETS": f"hooks.so.gov.vn,{entry}"})


def test_ports_in_the_webhook_allow_list() -> None:
    entries = "a.vn:8443,*.b.vn:9000-9100,10.0.0.0/8:9000,[fd00::1]:80,::1,127.0.0.1"
    assert len(load_settings({"WEBHOOK_ALLOWED_TARGETS": entries}).webhook_allowed_targets) == 6
