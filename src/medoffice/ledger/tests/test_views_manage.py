"""The pages that change the books: who may open them, and what they write."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.ledger import services
from medoffice.ledger.models import (
    Account,
    FiscalPeriod,
    ManualEntry,
    ManualEntryStatus,
    PeriodStatus,
)
from medoffice.ledger.services import Line, Posting

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "allowed", "refused"),
    [
        ("ledger:manual_entry_new", "manager", "front_desk"),
        ("ledger:manual_entries", "auditor", "front_desk"),
        ("ledger:periods", "biller", "front_desk"),
        ("ledger:chart", "auditor", "medical_assistant"),
        ("ledger:account_new", "manager", "biller"),
    ],
)
def test_the_pages_open_for_their_roles_only(client, client_for, name, allowed, refused):
    url = reverse(name)
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    assert client_for(refused).get(url).status_code == 403
    assert client_for(allowed).get(url).status_code == 200


def line_fields(*rows: tuple[str, str, str]) -> dict[str, str]:
    data = {}
    for n, (account, debit, credit) in enumerate(rows, start=1):
        data.update({f"account_{n}": account, f"debit_{n}": debit, f"credit_{n}": credit,
                     f"memo_{n}": ""})  # fmt: skip
    return data


def test_a_manual_entry_is_written_from_the_page(client_for):
    supplies = Account.objects.get(key="supplies_expense").code
    other = Account.objects.get(key="other_expense").code
    data = {"date": "2026-11-10", "memo": "Reclass", "idempotency_key": "page-1"}
    data.update(line_fields((supplies, "40.00", ""), ("", "", ""), (other, "", "40.00")))
    response = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert response.status_code == 302
    draft = ManualEntry.objects.get()
    assert draft.status == ManualEntryStatus.POSTED and draft.total_cents == 4000
    again = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert again.status_code == 302 and ManualEntry.objects.count() == 1  # a double click
    data.update(line_fields((supplies, "41.00", ""), ("", "", ""), (other, "", "41.00")))
    changed = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert changed.status_code == 422 and b"other content" in changed.content
    assert ManualEntry.objects.count() == 1
    listing = client_for("manager").get(reverse("ledger:manual_entries"))
    assert b"Reclass" in listing.content and b"Posted" in listing.content


def test_the_page_names_each_bad_line_where_it_was_typed(client_for):
    supplies = Account.objects.get(key="supplies_expense").code
    data = {"date": "2026-11-10", "memo": "Reclass"}
    data.update(line_fields((supplies, "40.00", ""), ("", "", ""), ("nope", "", "4O")))
    response = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert response.status_code == 422
    assert set(response.context["errors"]) == {"lines.3.account", "lines.3.credit"}
    lines = response.context["lines"]
    assert lines[2]["errors"] and not lines[0]["errors"] and not lines[1]["errors"]
    assert b"no account &#x27;nope&#x27;" in response.content
    assert ManualEntry.objects.count() == 0


def test_periods_close_and_the_owner_reopens_with_a_reason(client_for, users):
    services.post(
        Posting(source_type="tests.sale", source_id=1, date=dt.date(2026, 10, 2),
                lines=[Line("bank_operating", debit="5"), Line("revenue:other", credit="5")]),
        actor=users["manager"],
    )  # fmt: skip
    page = client_for("manager").get(reverse("ledger:periods"))
    assert b"Close October 2026" in page.content and b"Reopen" not in page.content
    client_for("manager").post(reverse("ledger:period_close"), {"month": "2026-10"})
    october = FiscalPeriod.objects.get(start=dt.date(2026, 10, 1))
    assert october.status == PeriodStatus.CLOSED and october.closed_by == users["manager"]
    assert (
        client_for("manager")
        .post(reverse("ledger:period_reopen"), {"month": "2026-10", "reason": "x"})
        .status_code
        == 403
    )
    client_for("owner").post(reverse("ledger:period_reopen"), {"month": "2026-10", "reason": ""})
    october.refresh_from_db()
    assert october.status == PeriodStatus.CLOSED  # no reason, no reopening
    client_for("owner").post(
        reverse("ledger:period_reopen"), {"month": "2026-10", "reason": "late bill"}
    )
    october.refresh_from_db()
    assert october.status == PeriodStatus.OPEN


def test_the_year_closes_only_when_confirmed(client_for, users):
    services.post(
        Posting(source_type="tests.sale", source_id=1, date=dt.date(2025, 5, 2),
                lines=[Line("bank_operating", debit="5"), Line("revenue:other", credit="5")]),
        actor=users["manager"],
    )  # fmt: skip
    url = reverse("ledger:year_close", args=[2025])
    page = client_for("manager").get(url)
    assert b"$5.00" in page.content
    client_for("manager").post(url, {"confirm": "2024"})
    assert not FiscalPeriod.objects.filter(status=PeriodStatus.CLOSED).exists()
    client_for("manager").post(url, {"confirm": "2025"})
    assert FiscalPeriod.objects.filter(start__year=2025, status=PeriodStatus.CLOSED).count() == 12


def test_the_chart_page_adds_renames_and_deactivates(client_for):
    heading = Account.objects.get(key="expenses")
    response = client_for("manager").post(
        reverse("ledger:account_new"),
        {"code": "5600", "name": "Marketing", "type": "expense", "parent": str(heading.pk)},
    )
    assert response.status_code == 302
    made = Account.objects.get(code="5600")
    assert made.parent == heading and made.key is None
    client_for("manager").post(
        reverse("ledger:account_edit", args=[made.pk]),
        {"code": "5610", "name": "Marketing and ads", "parent": str(heading.pk)},
    )
    made.refresh_from_db()
    assert (made.code, made.name) == ("5610", "Marketing and ads")
    client_for("manager").post(reverse("ledger:account_active", args=[made.pk]), {"active": "0"})
    made.refresh_from_db()
    assert not made.is_active
    page = client_for("manager").get(reverse("ledger:chart"))
    assert b"Marketing and ads" in page.content and b"Reactivate" in page.content
    duplicate = client_for("manager").post(
        reverse("ledger:account_new"), {"code": "5610", "name": "Again", "type": "expense"}
    )
    assert duplicate.status_code == 422 and "code" in duplicate.context["errors"]


def test_the_periods_page_offers_no_close_for_the_running_month(client_for):
    this_month = timezone.localdate().replace(day=1)
    page = client_for("manager").get(reverse("ledger:periods")).content.decode()
    assert f"Close {this_month:%B %Y}" not in page
    assert "Closes once the month has ended" in page
    refused = client_for("manager").post(
        reverse("ledger:period_close"), {"month": f"{this_month:%Y-%m}"}, follow=True
    )
    assert f"{this_month:%B %Y} has not ended" in refused.content.decode()
    assert not FiscalPeriod.objects.filter(start=this_month, status=PeriodStatus.CLOSED).exists()


def test_a_month_closed_with_a_later_one_says_so_and_offers_no_close(client_for, users):
    services.close_period(month=dt.date(2025, 6, 1), actor=users["manager"])  # nothing posted
    page = client_for("manager").get(reverse("ledger:periods")).content.decode()
    assert "Closed with June 2025" in page
    assert "Close March 2025" not in page and "Reopen March 2025" not in page
    assert "Close July 2025" in page
    refused = client_for("manager").post(
        reverse("ledger:period_close"), {"month": "2025-03"}, follow=True
    )
    assert "March 2025 is already closed with June 2025" in refused.content.decode()


def test_the_manual_entries_list_offers_writing_one_only_to_those_who_may(client_for):
    url = reverse("ledger:manual_entries")
    assert b"Write a manual entry" in client_for("manager").get(url).content
    for role in ("biller", "auditor"):
        page = client_for(role).get(url)
        assert page.status_code == 200 and b"Write a manual entry" not in page.content
        assert client_for(role).get(reverse("ledger:manual_entry_new")).status_code == 403


def test_an_account_that_is_not_there_is_named_on_its_404(client_for):
    page = client_for("owner").get(reverse("ledger:account_edit", args=[99999]))
    assert page.status_code == 404
    assert b"No account with id 99999." in page.content
    assert b"matches the given query" not in page.content
