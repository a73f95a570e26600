"""Opaque feed cursors: the store epoch plus the (tx_id, position) feed order key."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from events.errors import InvalidCursor

_PREFIX = "c1"


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    epoch: str
    tx_id: int
    position: int

    def encode(self) -> str:
        text = f"{_PREFIX}.{self.epoch}.{self.tx_id:x}.{self.position:x}"
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    @classmethod
    def decode(cls, token: str) -> Cursor:
        if not token or len(token) > 200:
            raise InvalidCursor("a cursor is a short opaque string returned by the API")
        try:
            padded = token + "=" * (-len(token) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
            prefix, epoch, tx_hex, pos_hex = text.split(".")
            if prefix != _PREFIX or not epoch:
                raise ValueError(prefix)
            tx_id, position = int(tx_hex, 16), int(pos_hex, 16)
        except (ValueError, UnicodeError, binascii.Error):
            raise InvalidCursor(f"{token!r} is not a cursor returned by this API") from None
        if not (0 <= tx_id < 2**63 and 0 <= position < 2**63):
            raise InvalidCursor(f"{token!r} is not a cursor returned by this API")
        return cls(epoch, tx_id, position)
