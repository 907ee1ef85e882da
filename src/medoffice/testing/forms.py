"""Helpers for posting the pages' forms as a browser would."""

from __future__ import annotations

import re

from django.test import Client

_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def form_token(client: Client, url: str) -> str:
    """The one-time token the page at ``url`` issues with its form (GET, as a browser)."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    found = _TOKEN.search(response.content.decode())
    assert found, f"{url} issues no one-time form token"
    return found.group(1)
