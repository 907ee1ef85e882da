"""Pages that take money post once: a double click or a resubmitted form writes one row and
shows the first result; bad amounts are form errors on the field and write nothing.

The pages: the desk's payment and check-in (copay), the authority limits, adding a coverage
(copays) and recording an eligibility check (the quoted copay).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from medoffice.core.models import AuthorityLimit, FormSubmission
from medoffice.patients.models import Coverage, EligibilityCheck
from medoffice.reception.models import Payment
from medoffice.testing.forms import form_token

BAD_AMOUNTS = ["1e400", "1" + "0" * 40, "NaN", "Infinity", "1,00,0", "--5", "1.234", "1e3"]


@dataclass
class Page:
    url: str
    role: str
    data: Callable[[Client], dict[str, Any]]  # a good submission (without the token)
    amount_field: str
    count: Callable[[], int]
    field_error: Callable[[Any], bool]  # whether the response shows an error on the amount


def _limits_data(client: Client) -> dict[str, Any]:
    form = client.get(reverse("core:authority_limits")).context["form"]
    data = {n: "" if form[n].value() is None else str(form[n].value()) for n in form.fields}
    data["front_desk.refund"] = "75.00"
    return data


def _context_error(name: str) -> Callable[[Any], bool]:
    return lambda response: name in response.context["form"].errors


def _html_error(element_id: str) -> Callable[[Any], bool]:
    return lambda response: f'id="{element_id}"' in response.content.decode()


def pages(day) -> dict[str, Page]:
    return {
        "payment": Page(
            reverse("reception:payment_new", args=[day.patient.pk]), "front_desk",
            lambda c: {"amount": "40", "method": "cash", "location": day.location.pk},
            "amount", Payment.objects.count, _html_error("err-amount"),
        ),
        "check_in": Page(
            reverse("reception:check_in", args=[day.appointment.pk]), "front_desk",
            lambda c: {"demographics_confirmed": "on", "coverage_confirmed": "on",
                       "copay_amount": "25.00", "copay_method": "cash"},
            "copay_amount", Payment.objects.count, _html_error("err-copay-amount"),
        ),
        "limits": Page(
            reverse("core:authority_limits"), "owner", _limits_data, "front_desk.refund",
            lambda: AuthorityLimit.objects.filter(
                role__code="front_desk", kind="refund", amount=Decimal("75.00")
            ).count(),
            _context_error("front_desk.refund"),
        ),
        "coverage": Page(
            reverse("patients:coverage_add", args=[day.patient.pk]), "front_desk",
            lambda c: {"payer": day.coverage.payer_id, "member_id": "SEC-1", "priority": 2,
                       "effective_date": "01/01/2024", "copay": "20.00",
                       "specialist_copay": "0", "subscriber_relationship": "self"},
            "copay", Coverage.objects.count, _context_error("copay"),
        ),
        "eligibility": Page(
            reverse("patients:eligibility_add", args=[day.coverage.pk]), "front_desk",
            lambda c: {"status": "active", "copay_reported": "30.00"},
            "copay_reported", EligibilityCheck.objects.count, _context_error("copay_reported"),
        ),
    }  # fmt: skip


NAMES = ["payment", "check_in", "limits", "coverage", "eligibility"]


@pytest.mark.parametrize("name", NAMES)
def test_the_same_form_sent_twice_writes_once_and_shows_the_first_result(
    client_for, desk_day, name
):
    page = pages(desk_day)[name]
    client = client_for(page.role)
    before = page.count()
    data = {**page.data(client), "form_token": form_token(client, page.url)}
    first = client.post(page.url, data)
    assert first.status_code == 302, first.content.decode()[:2000]
    assert page.count() == before + 1
    again = client.post(page.url, data)
    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert page.count() == before + 1
    shown = client.get(again["Location"]).content.decode()
    assert "already been sent" in shown
    assert FormSubmission.objects.count() == 1


def test_a_resubmitted_limits_form_does_not_overwrite_a_later_change(client_for, desk_day):
    page = pages(desk_day)["limits"]
    client = client_for("owner")
    data = {**page.data(client), "form_token": form_token(client, page.url)}
    assert client.post(page.url, data).status_code == 302
    AuthorityLimit.objects.filter(role__code="front_desk", kind="refund").update(
        amount=Decimal("80.00")
    )
    assert client.post(page.url, data).status_code == 302
    limit = AuthorityLimit.objects.get(role__code="front_desk", kind="refund")
    assert limit.amount == Decimal("80.00")


@pytest.mark.parametrize("name", NAMES)
def test_a_form_without_its_token_writes_nothing_and_says_so(client_for, desk_day, name):
    page = pages(desk_day)[name]
    client = client_for(page.role)
    before = page.count()
    response = client.post(page.url, page.data(client))
    assert response.status_code in (200, 422)
    assert "This form has expired" in response.content.decode()
    assert page.count() == before
    assert re.search(r'name="form_token" value="[^"]+"', response.content.decode())


def test_a_token_is_bound_to_its_user_and_its_form(client_for, desk_day, users):
    page = pages(desk_day)["payment"]
    desk = client_for("front_desk")
    token = form_token(desk, page.url)
    manager = client_for("manager")
    stolen = manager.post(page.url, {**page.data(manager), "form_token": token})
    assert "This form has expired" in stolen.content.decode()
    other = reverse("reception:check_in", args=[desk_day.appointment.pk])
    elsewhere = desk.post(other, {**pages(desk_day)["check_in"].data(desk), "form_token": token})
    assert "This form has expired" in elsewhere.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_are_errors_on_the_field_and_write_nothing(client_for, desk_day, name, amount):
    page = pages(desk_day)[name]
    client = client_for(page.role)
    before = page.count()
    token = form_token(client, page.url)
    data = {**page.data(client), page.amount_field: amount, "form_token": token}
    response = client.post(page.url, data)
    assert response.status_code in (200, 422)
    assert page.field_error(response), response.content.decode()[:3000]
    assert page.count() == before
    assert not FormSubmission.objects.exists()  # the token is not spent: fix and send again
    assert token in response.content.decode()


# --- A double click: the same form from several threads at once ------------------------------

THREADS = 4


def _double_click(desk_day, users, name: str) -> None:
    page = pages(desk_day)[name]
    first = Client()
    first.force_login(users[page.role])
    data = {**page.data(first), "form_token": form_token(first, page.url)}
    clients = [first]
    for _ in range(THREADS - 1):
        client = Client()
        client.cookies = first.cookies  # the same browser session
        clients.append(client)
    before = page.count()
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []
    failures: list[BaseException] = []

    def submit(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(page.url, data)
            answers.append((response.status_code, response.get("Location", "")))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(answers) == THREADS
    assert {status for status, _ in answers} == {302}, answers
    assert len({location for _, location in answers}) == 1  # all shown the first result
    assert page.count() == before + 1
    assert FormSubmission.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", NAMES)
def test_a_double_click_posts_once(desk_day, users, name):
    _double_click(desk_day, users, name)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", NAMES)
def test_a_double_click_posts_once_on_postgresql(desk_day, users, name):
    if connection.vendor != "postgresql":
        pytest.skip("the unique index's wait between transactions: PostgreSQL only")
    _double_click(desk_day, users, name)


def test_spent_tokens_are_forgotten_after_a_day(client_for, desk_day):
    from datetime import timedelta

    from django.utils import timezone

    from medoffice.core.once import expire_tokens

    page = pages(desk_day)["payment"]
    client = client_for("front_desk")
    data = {**page.data(client), "form_token": form_token(client, page.url)}
    client.post(page.url, data)
    assert expire_tokens() == 0
    assert expire_tokens(now=timezone.now() + timedelta(hours=25)) == 1
    assert not FormSubmission.objects.exists()
