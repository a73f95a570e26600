"""Event ids are random version-4 UUIDs, distinct, also across a fork."""

from __future__ import annotations

import os
import uuid

from events.store.ids import new_event_id as _new_event_id
from events.store.ids import new_event_ids as _new_event_ids


def test_event_ids_are_distinct_version_4_uuids() -> None:
    ids = _new_event_ids(5000) + [_new_event_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)
    assert all(i.variant == uuid.RFC_4122 for i in ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    _new_event_id()  # the buffer now holds unused random bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, _new_event_id().bytes)
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = uuid.UUID(bytes=os.read(read, 16))
    assert child_id != _new_event_id()
