"""Webhook targets and signatures: which targets an operator allows, and how a delivery is signed.

Signing: `Campaign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
A receiver recomputes the HMAC over the timestamp it was given and the raw body, compares in
constant time, and refuses old timestamps (replays).

Targets: a URL must be http(s), name a host matched by the operator's allow-list (an exact
host, `*.suffix`, or an IP network such as `10.1.2.0/24`), and every address the host resolves
to must be public unless the allow-list names that address's network or the host exactly.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

RESOLVE_SECONDS = 3.0
URL_LONGEST = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(ValueError):
    """The webhook URL is not one the operator allows."""


class TargetUnresolved(TargetRefused):
    """The host did not resolve: maybe for a while only (a delivery retries)."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, given)


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Entries such as `hooks.bo-noi-vu.gov.vn`, `*.gov.vn`, `10.20.0.0/16`, `127.0.0.1`."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry.startswith("*."):
                suffixes.append(entry[1:])
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def names(self, host: str) -> bool:
        return host in self.hosts or any(host.endswith(s) for s in self.suffixes)

    def covers(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def _split(url: str) -> SplitResult:
    if len(url) > URL_LONGEST:
        raise TargetRefused(f"a webhook URL has at most {URL_LONGEST} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise TargetRefused("a webhook URL has no spaces or control characters")
    if not url.isascii():
        raise TargetRefused("write the webhook URL in ASCII (punycode for the host, %-escapes)")
    try:
        parts = urlsplit(url)
        _ = parts.port, parts.hostname
    except ValueError:
        raise TargetRefused(f"{url!r} is not a URL") from None
    return parts


def check_target(url: str, allowed: AllowList, resolved: Sequence[str]) -> list[IPAddress]:
    """Refuse a URL the operator does not allow; `resolved` are the host's addresses now.
    Answers the addresses a delivery may connect to."""
    parts = _split(url)
    if parts.scheme not in ("https", "http"):
        raise TargetRefused(f"{url!r}: only http and https URLs are delivered to")
    if parts.fragment:
        raise TargetRefused("a webhook URL has no #fragment")
    if parts.username or parts.password:
        raise TargetRefused("credentials do not belong in a webhook URL")
    host = (parts.hostname or "").lower()
    if not host:
        raise TargetRefused(f"{url!r} names no host")
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not allowed.covers(literal) and host not in allowed.hosts:
            raise TargetRefused(f"{host} is not in the operator's allow-list")
        addresses = [literal]
    else:
        if not allowed.names(host):
            raise TargetRefused(f"{host} is not in the operator's allow-list")
        addresses = [ipaddress.ip_address(a) for a in resolved]
        if not addresses:
            raise TargetUnresolved(f"{host} does not resolve")
    for address in addresses:
        if not _public(address) and not allowed.covers(address) and host not in allowed.hosts:
            # The address is not named: which internal address a name has is not for users.
            raise TargetRefused(
                f"{host} resolves to a private or loopback address the allow-list does not name"
            )
    return addresses


async def resolve_and_check(url: str, allowed: AllowList) -> list[IPAddress]:
    """Refuse a URL the operator does not allow, resolving its host now (at creation, and again
    before each delivery, which then connects to the addresses checked here, so a name pointed
    elsewhere between the check and the connection is never followed)."""
    parts = _split(url)
    host = parts.hostname or ""
    resolved: list[str] = []
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host and allowed.names(host.lower()):
            loop = asyncio.get_running_loop()
            try:
                infos = await asyncio.wait_for(
                    loop.getaddrinfo(host, parts.port or 443, proto=6), RESOLVE_SECONDS
                )
            except (OSError, TimeoutError, UnicodeError):
                raise TargetUnresolved(f"{host} does not resolve (now)") from None
            resolved = sorted({str(info[4][0]) for info in infos})
    return check_target(url, allowed, resolved)
