"""Every number in a books URL, however wrong (0, negative, huge), is a clear 4xx, never a 500,
and writes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.core.exceptions import InvalidInput
from medoffice.ledger import services
from medoffice.ledger.models import FiscalPeriod, JournalEntry

pytestmark = pytest.mark.django_db

NUMBERS = ["0", "-1", "99999", "999999999999999999999999"]
GETS = [
    "/ledger/periods/year/{}/close/",
    "/ledger/accounts/{}/",
    "/ledger/general-ledger/{}/",
    "/ledger/patients/{}/",
]


@pytest.fixture
def owner(client_for):
    client = client_for("owner")
    client.raise_request_exception = False  # a server error is a 500 here, not an exception
    return client


@pytest.mark.parametrize("url", GETS)
@pytest.mark.parametrize("number", NUMBERS)
def test_bad_numbers_in_urls_are_4xx(owner, url, number):
    response = owner.get(url.format(number))
    assert 400 <= response.status_code < 500, (url, number, response.status_code)


@pytest.mark.parametrize("number", NUMBERS)
def test_posting_a_bad_year_close_is_refused_and_closes_nothing(owner, number):
    response = owner.post(f"/ledger/periods/year/{number}/close/", {"confirm": number})
    assert response.status_code in (302, 400, 404), response.status_code
    assert not FiscalPeriod.objects.exists() and not JournalEntry.objects.exists()
    if response.status_code == 302:
        text = owner.get(response["Location"]).content.decode()
        assert "is not a fiscal year" in text or "has not ended" in text


def test_the_year_close_page_names_the_bad_year(owner):
    response = owner.get("/ledger/periods/year/0/close/")
    assert response.status_code == 422
    assert "0 is not a fiscal year" in response.content.decode()


@pytest.mark.parametrize("year", [0, -5, 1900, 1950, 99999])
def test_the_service_refuses_years_outside_the_books(users, year):
    with pytest.raises(InvalidInput) as refused:
        services.close_year(year=year, actor=users["owner"])
    assert refused.value.field == "year" and str(year) in refused.value.message
    assert not FiscalPeriod.objects.exists()


def test_last_year_can_still_be_closed(users):
    year = timezone.localdate().year - 1
    services.close_year(year=year, actor=users["owner"])
    assert FiscalPeriod.objects.filter(start__year=year, status="closed").count() == 12


@pytest.mark.parametrize("param", ["location", "provider"])
def test_a_report_filtered_by_a_desk_or_provider_that_is_not_there_is_refused(
    client_for, users, param
):
    from medoffice.ledger.models import Account

    bank = Account.objects.get(key="bank_operating")
    for url in (
        reverse("ledger:trial_balance"),
        reverse("ledger:general_ledger"),  # the index, before any account is chosen
        reverse("ledger:account_detail", args=[bank.pk]),
    ):
        response = client_for("owner").get(url, {param: "999"})
        assert response.status_code == 422, url
        assert f"There is no {param} 999: choose one of the {param}s." in (
            response.content.decode()
        )


def test_the_general_ledger_index_carries_its_location_to_the_accounts(client_for, users):
    from medoffice.ledger.models import Account
    from medoffice.testing import factories

    desk = factories.location(name="Main St")
    bank = Account.objects.get(key="bank_operating")
    page = client_for("owner").get(reverse("ledger:general_ledger"), {"location": desk.pk})
    assert page.status_code == 200
    assert f'href="{reverse("ledger:account_detail", args=[bank.pk])}?location={desk.pk}"' in (
        page.content.decode()
    )


def test_a_span_that_ends_before_it_starts_is_refused_on_every_report(client_for, users):
    from medoffice.core.models import AuditAction, AuditEvent
    from medoffice.ledger.models import Account
    from medoffice.testing import patients_factories as pf

    patient = pf.patient()
    client = client_for("manager")
    backwards = {"since": "2027-01-01", "until": "2026-01-01"}
    reads_before = AuditEvent.objects.filter(action=AuditAction.VIEW).count()
    account = Account.objects.get(key="bank_operating")
    for url in (
        reverse("ledger:patient_statement", args=[patient.pk]),
        reverse("ledger:account_detail", args=[account.pk]),
        reverse("ledger:income_statement"),
        reverse("ledger:journal_export", args=["csv"]),
        f"/api/ledger/patients/{patient.pk}/activity",
        "/api/ledger/entries",
    ):
        answer = client.get(url, backwards)
        assert answer.status_code == 422, url
        said = answer.json()["detail"] if url.startswith("/api/") else answer.content.decode()
        assert "the end (01/01/2026) comes before the start (01/01/2027)" in said.lower(), url
    assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == reads_before
