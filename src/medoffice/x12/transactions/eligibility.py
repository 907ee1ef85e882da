"""270/271 (005010X279A1). Not mapped into loops yet: the names (NM1) are checked."""

from __future__ import annotations

from medoffice.x12.transactions.common import Cursor, nm1


def build(cur: Cursor) -> object:
    while cur.pos < len(cur.body):
        fields = cur.take()
        if fields[0] == "NM1":
            nm1(fields)
    return None


build_request = build_response = build
