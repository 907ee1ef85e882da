from __future__ import annotations

from medoffice.x12.transactions.common import Cursor


def build(cur: Cursor) -> object:
    return None


build_request = build_response = build
