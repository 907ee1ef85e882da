"""999 (005010X231A1): not mapped into loops yet; read at the envelope level only."""

from __future__ import annotations

from medoffice.x12.transactions.common import Cursor


def build(cur: Cursor) -> object:
    return None


build_request = build_response = build
