"""276/277 (005010X212) and 277CA (005010X214): not mapped into loops yet; read at the
envelope level only."""

from __future__ import annotations

from medoffice.x12.transactions.common import Cursor


def build(cur: Cursor) -> object:
    return None


build_request = build_response = build
