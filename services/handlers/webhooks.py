"""Webhook targets and signatures: which targets an operator allows, and how a delivery is signed.

Signing: `Campaign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
A receiver recomputes the HMAC over the timestamp it was given and the raw body, compares in
constant time, and refuses old timestamps (replays).

Targets: a URL must be http(s), name a host matched by the operator's allow-list (an exact
host, `*.suffix`, or an IP network such as `10.1.2.0/24`), on port 80 or 443 unless the entry
that admits the host names the port (`host:8443`, `10.0.0.0/8:9000`, `[fd00::1]:9000-9100`),
and every address the host resolves to must be public unless the allow-list names that
address's network or the host exactly.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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


Ports = tuple[tuple[int, int], ...]
"""Ranges of ports an allow-list entry names beside 80 and 443 (always allowed)."""

DEFAULT_PORTS = (80, 443)


def _ports(text: str) -> Ports:
    """`8443`, `9000-9100`: a port or an inclusive range, each within 1..65535."""
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    if not 1 <= first <= last <= 65535:
        raise ValueError(f"{text!r} is not a port or a range of ports")
    return ((first, last),)


def _split_entry(entry: str) -> tuple[str, Ports]:
    """An entry and the ports it names: `host:8443`, `10.0.0.0/8:9000`, `[fd00::/8]:9000`,
    `127.0.0.1:1024-65535`; bare IPv6 (more than one colon, no brackets) names no port."""
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{entry!r}: write [address]:port")
        return inside, _ports(rest[1:]) if rest else ()
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _ports(port)
    return entry, ()


@dataclass(frozen=True)
class AllowList:
    hosts: dict[str, Ports] = field(default_factory=dict)
    suffixes: tuple[tuple[str, Ports], ...] = ()
    networks: tuple[tuple[IPNetwork, Ports], ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Entries such as `hooks.bo-noi-vu.gov.vn`, `*.gov.vn`, `10.20.0.0/16`, `127.0.0.1`,
        each optionally with the ports beside 80 and 443 it may be reached on: `host:8443`,
        `10.0.0.0/8:9000`, `[fd00::1]:9000-9100`. The same host may come more than once."""
        hosts: dict[str, Ports] = {}
        suffixes: list[tuple[str, Ports]] = []
        networks: list[tuple[IPNetwork, Ports]] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            entry, ports = _split_entry(entry)
            if entry.startswith("*."):
                suffixes.append((entry[1:], ports))
                continue
            try:
                networks.append((ipaddress.ip_network(entry, strict=False), ports))
            except ValueError:
                hosts[entry] = hosts.get(entry, ()) + ports
        return cls(hosts, tuple(suffixes), tuple(networks))

    def names(self, host: str) -> bool:
        return host in self.hosts or any(host.endswith(s) for s, _ in self.suffixes)

    def covers(self, address: IPAddress) -> bool:
        return any(address in network for network, _ in self.networks)

    def allows_port(self, host: str, literal: IPAddress | None, port: int) -> bool:
        """Whether `port` may be used for `host`: 80 and 443 always; any other only when an
        entry that admits the host (its name, a suffix, or for an IP literal a network of it)
        names that port."""
        if port in DEFAULT_PORTS:
            return True
        named: list[Ports] = [self.hosts.get(host, ())]
        if literal is None:
            named += [ports for suffix, ports in self.suffixes if host.endswith(suffix)]
        else:
            named += [ports for network, ports in self.networks if literal in network]
        return any(low <= port <= high for ports in named for low, high in ports)


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
    elif not allowed.names(host):
        raise TargetRefused(f"{host} is not in the operator's allow-list")
    port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    if not allowed.allows_port(host, literal, port):
        raise TargetRefused(f"port {port} of {host} is not in the operator's allow-list")
    if literal is not None:
        addresses = [literal]
    else:
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
