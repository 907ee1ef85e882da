"""The tab shows medoffice's icon, and /favicon.ico (asked for by every browser) finds it."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon_without_signing_in():
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/medoffice/favicon.svg"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


def test_pages_link_the_icon(client_for):
    page = client_for("front_desk").get("/dashboard/")
    assert page.status_code == 200
    assert '<link rel="icon" href="/static/medoffice/favicon.svg"' in page.content.decode()
