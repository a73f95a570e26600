"""What a failed webhook delivery records (security review row 9): the status and its reason
phrase, never the receiver's body; without an HTTP answer one message whatever the cause, so a
subscription cannot tell a closed port from an open one that speaks something else."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import asyncpg

from events.store import EventStore
from services.api.app import create_app
from services.domain.delivery import Failed, RetryPolicy
from services.handlers.webhooks import AllowList
from services.runtime.config import load_settings
from tests.http import api_client
from tests.org import bearer, make_user
from tests.receiver import RECEIVERS, Receiver
from workers.webhooks import Batch, Clients, DeliveryConfig, post

SECRET = "s3cret-of-the-department-0123456789"
CONFIG = DeliveryConfig(AllowList.parse(RECEIVERS.split(",")), RetryPolicy(), 1.0, 10)


def batch(url: str) -> Batch:
    return Batch(uuid.uuid4(), url, SECRET, b"{}", 1, "c")


async def test_a_refusing_receiver_is_recorded_without_its_body() -> None:
    with Receiver() as receiver:
        receiver.answers.extend([500, 302, 418])
        async with Clients(CONFIG.timeout) as clients:
            results = [await post(clients, CONFIG, batch(receiver.url)) for _ in range(3)]
    assert results == [
        Failed("answered 500 Internal Server Error"),
        Failed("answered 302 Found (redirects are not followed)"),
        Failed("answered 418 I'm a Teapot"),
    ]
    assert all("receiver says no" not in r.reason for r in results if isinstance(r, Failed))


async def test_connection_failures_read_alike_whatever_the_cause() -> None:
    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def speak_ssh(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    silent: list[asyncio.StreamWriter] = []

    async def say_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    servers = [
        await asyncio.start_server(h, "127.0.0.1", 0) for h in (hang_up, speak_ssh, say_nothing)
    ]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    urls = [
        f"http://127.0.0.1:{closed_port}/hook",  # nothing listens: refused
        f"http://127.0.0.1:{ports[0]}/hook",  # accepts, hangs up
        f"http://127.0.0.1:{ports[1]}/hook",  # another protocol
        f"https://127.0.0.1:{ports[1]}/hook",  # TLS against it
        f"http://127.0.0.1:{ports[2]}/hook",  # accepts, never answers
    ]
    try:
        async with Clients(CONFIG.timeout) as clients:
            results = [await post(clients, CONFIG, batch(url)) for url in urls]
    finally:
        for writer in silent:
            writer.close()
        for server in servers:
            server.close()
    assert set(results) == {Failed("could not connect, or no answer within 1 s")}, results


async def test_a_subscription_names_a_port_beside_80_and_443_only_when_the_list_does(
    domain_store: EventStore, pool: asyncpg.Pool[Any]
) -> None:
    _, admin = await make_user(domain_store, "admin")
    settings = load_settings({"WEBHOOK_ALLOWED_TARGETS": "127.0.0.1,127.0.0.1:8443"})
    async with api_client(create_app(settings, pool=pool)) as client:
        answers = {
            port: await client.post(
                "/subscriptions",
                headers=bearer(admin),
                json={"url": f"http://127.0.0.1{port}/hook", "secret": SECRET},
            )
            for port in (":0", ":5432", ":6379", ":8444", "", ":443", ":8443")
        }
    assert {port: a.status_code for port, a in answers.items()} == {
        ":0": 422,
        ":5432": 422,
        ":6379": 422,
        ":8444": 422,
        "": 201,
        ":443": 201,
        ":8443": 201,
    }
    assert answers[":5432"].json()["type"] == "/problems/target-refused"
