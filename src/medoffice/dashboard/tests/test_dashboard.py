"""The office manager's home: tiles registered by modules, grouped by section."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from medoffice.core import services, tile_registry
from medoffice.core.models import AuditEvent
from medoffice.core.tile_registry import SECTIONS, Tile, TileProvider
from medoffice.dashboard.selectors import sections_for
from medoffice.testing import factories
from medoffice.testing.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
HOME = reverse("dashboard:home")


def _titles(response) -> dict[str, list[str]]:
    return {label: [t.title for t in tiles] for label, tiles in response.context["sections"]}


def test_signing_in_lands_on_the_dashboard(users):
    client = Client()
    response = client.post(
        reverse("core:login"), {"username": users["manager"].username, "password": DEFAULT_PASSWORD}
    )
    assert response["Location"] == HOME
    assert client.get("/")["Location"] == HOME


def test_the_manager_sees_money_people_and_risk(client_for, users):
    services.approval_request(
        kind="purchase", amount=Decimal("300.00"), description="Chair",
        requested_by=users["front_desk"],
    )  # fmt: skip
    response = client_for("manager").get(HOME)
    assert response.status_code == 200
    sections = _titles(response)
    assert "Approvals waiting for you" in sections["Money"]
    assert {"Emergency access to review", "Failed sign-ins, last 24 hours"} <= set(sections["Risk"])
    assert "Active staff accounts" in sections["People"]
    waiting = next(
        t
        for _, group in response.context["sections"]
        for t in group
        if t.title.startswith("Approvals")
    )
    assert waiting.figure == "1" and waiting.tone == "warn"
    order = [label for _, label in SECTIONS]
    shown = list(sections)
    assert shown == sorted(shown, key=order.index)


def test_the_front_desk_sees_only_its_tiles(client_for):
    sections = _titles(client_for("front_desk").get(HOME))
    titles = {title for group in sections.values() for title in group}
    assert "Checked in today" in titles
    # Nothing waits for the desk to decide: no approvals tile (it appears once something does).
    assert not titles & {"Approvals waiting for you", "Emergency access to review",
                         "Failed sign-ins, last 24 hours", "Active staff accounts"}  # fmt: skip


def test_the_approvals_tile_shows_for_a_small_limit_only_when_something_waits(client_for, users):
    from decimal import Decimal

    from medoffice.core.models import ApprovalRequest

    def titles():
        sections = _titles(client_for("front_desk").get(HOME))
        return {title for group in sections.values() for title in group}

    assert "Approvals waiting for you" not in titles()
    ApprovalRequest.objects.create(  # waiting, and within the desk's $50 refund authority
        kind="refund", amount=Decimal("20.00"), description="Copay charged twice",
        requested_by=users["biller"],
    )  # fmt: skip
    assert "Approvals waiting for you" in titles()


def test_failed_sign_ins_are_counted(client_for, users):
    for _ in range(2):
        Client().post(
            reverse("core:login"), {"username": users["biller"].username, "password": "x"}
        )
    response = client_for("auditor").get(HOME)
    tile = next(
        t
        for _, group in response.context["sections"]
        for t in group
        if t.title.startswith("Failed")
    )
    assert tile.figure == "2" and "action=login_failed" in tile.url


@pytest.fixture
def patients_tile(monkeypatch):
    provider = TileProvider(
        "patients",
        ("patients.view",),
        lambda user: [Tile("New patients", "3", section="today")],
        50,
    )
    monkeypatch.setattr(tile_registry, "_providers", [*tile_registry._providers, provider])


def test_a_modules_tile_shows_only_while_the_module_is_on(client_for, users, patients_tile):
    assert "New patients" in _titles(client_for("manager").get(HOME))["Today"]
    services.module_set_enabled(actor=users["owner"], module="patients", enabled=False)
    titles = _titles(client_for("manager").get(HOME))
    assert "New patients" not in {title for group in titles.values() for title in group}


def test_a_tile_without_a_known_section_lands_at_a_glance(users, monkeypatch):
    provider = TileProvider(
        "dashboard", ("dashboard.view",), lambda u: [Tile("Odd", "1", section="x")]
    )
    monkeypatch.setattr(tile_registry, "_providers", [provider])
    assert [
        (label, [t.title for t in group]) for label, group in sections_for(users["clinician"])
    ] == [("At a glance", ["Odd"])]


def test_someone_without_the_dashboard_goes_to_a_page_they_may_use(practice):
    nobody = factories.user(None)
    client = Client()
    client.force_login(nobody)
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"] == reverse("core:approvals")


def test_the_page_is_keyboard_and_screen_reader_friendly(client_for):
    page = client_for("manager").get(HOME).content.decode()
    assert 'class="skip-link" href="#main"' in page
    assert '<main id="main"' in page
    assert 'aria-labelledby="section-1"' in page


def test_rendering_the_dashboard_writes_nothing_to_the_audit_trail(client_for):
    client = client_for("manager")
    client.get(HOME)
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    client.get(HOME)
    assert AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() == newest
