"""What a manual entry must say before it is written: a date inside the books, the patient on
a patient-account line; and a month does not close over entries waiting for approval."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from medoffice.core.exceptions import InvalidInput, InvalidTransition
from medoffice.core.services import approval_decide
from medoffice.ledger import selectors, services
from medoffice.ledger.models import (
    Account,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    ManualEntry,
    ManualEntryStatus,
    PeriodStatus,
)
from medoffice.ledger.services import Line, ManualLine, Posting
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


def code(key: str) -> str:
    return Account.objects.get(key=key).code


def two_lines(amount: str = "125.00") -> list[ManualLine]:
    return [
        ManualLine(code("supplies_expense"), debit=amount),
        ManualLine(code("other_expense"), credit=amount),
    ]


def last_month() -> dt.date:
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


# --- Dates --------------------------------------------------------------------------------------


def test_the_books_start_is_last_january_or_the_first_month_with_postings(users):
    today = timezone.localdate()
    assert services.books_start() == dt.date(today.year - 1, 1, 1)
    services.post(
        Posting(source_type="tests.old", source_id=1, date=dt.date(today.year - 3, 5, 17),
                lines=[Line("bank_operating", debit="5.00"), Line("other_expense", credit="5.00")]),
        actor=users["manager"],
    )  # fmt: skip
    assert services.books_start() == dt.date(today.year - 3, 5, 1)


@pytest.mark.parametrize("day", [dt.date(1900, 1, 1), dt.date(2199, 12, 31), dt.date(1, 1, 1)])
def test_a_manual_entry_outside_the_books_is_refused_naming_the_date_and_range(users, day):
    with pytest.raises(InvalidInput) as refused:
        services.manual_entry_submit(
            actor=users["manager"], date=day, memo="Typo", lines=two_lines()
        )
    start, last = services.entry_date_range()
    message = refused.value.errors["date"][0]
    assert f"{day:%m/%d}/{day.year:04d}" in message
    assert f"{start:%m/%d/%Y}" in message and f"{last:%m/%d/%Y}" in message
    assert ManualEntry.objects.count() == 0 and JournalEntry.objects.count() == 0
    assert FiscalPeriod.objects.count() == 0


def test_the_ends_of_the_range_are_allowed(users):
    start, last = services.entry_date_range()
    for n, day in enumerate((start, last)):
        draft = services.manual_entry_submit(
            actor=users["manager"], date=day, memo=f"Edge {n}", lines=two_lines()
        )
        assert draft.status == ManualEntryStatus.POSTED
    for day in (start - dt.timedelta(days=1), last + dt.timedelta(days=1)):
        with pytest.raises(InvalidInput):
            services.manual_entry_submit(
                actor=users["manager"], date=day, memo="Out", lines=two_lines()
            )
    assert ManualEntry.objects.count() == 2


def test_a_1900_entry_no_longer_blocks_closing_last_month(users):
    with pytest.raises(InvalidInput):
        services.manual_entry_submit(
            actor=users["manager"], date=dt.date(1900, 1, 15), memo="Typo", lines=two_lines()
        )
    period = services.close_period(month=last_month(), actor=users["manager"])
    assert period.status == PeriodStatus.CLOSED


@pytest.mark.parametrize("day", [dt.date(1900, 1, 1), dt.date(1999, 12, 31), dt.date(2199, 1, 1)])
def test_the_posting_api_refuses_absurd_dates(users, day):
    posting = Posting(
        source_type="tests.typo", source_id=1, date=day,
        lines=[Line("bank_operating", debit="5.00"), Line("other_expense", credit="5.00")],
    )  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        services.post(posting, actor=users["manager"])
    assert refused.value.field == "date" and "outside the books" in refused.value.message
    with pytest.raises(InvalidInput):
        services.post_many([posting], actor=users["manager"])
    assert JournalEntry.objects.count() == 0 and JournalLine.objects.count() == 0
    assert FiscalPeriod.objects.count() == 0


def test_the_page_puts_the_date_error_on_the_date_field(client_for):
    data = {"date": "1900-01-01", "memo": "Typo", "idempotency_key": "k1",
            "account_1": code("supplies_expense"), "debit_1": "4.00", "credit_1": "",
            "memo_1": "", "patient_1": "",
            "account_2": code("other_expense"), "debit_2": "", "credit_2": "4.00",
            "memo_2": "", "patient_2": ""}  # fmt: skip
    response = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert response.status_code == 422
    assert list(response.context["errors"]) == ["date"]
    assert b'id="date-error"' in response.content and b"01/01/1900" in response.content
    assert ManualEntry.objects.count() == 0


# --- Patient accounts ---------------------------------------------------------------------------


def test_a_patient_account_line_must_name_the_patient(users):
    lines = [
        ManualLine(code("patient_ar"), debit="30.00"),
        ManualLine(code("unapplied_patient"), credit="30.00"),
    ]
    with pytest.raises(InvalidInput) as refused:
        services.manual_entry_submit(
            actor=users["manager"], date=last_month(), memo="Apply", lines=lines
        )
    errors = refused.value.errors
    assert set(errors) == {"lines.1.patient", "lines.2.patient"}
    assert "Line 1" in errors["lines.1.patient"][0]
    assert Account.objects.get(key="patient_ar").name in errors["lines.1.patient"][0]
    assert "Line 2" in errors["lines.2.patient"][0]
    assert ManualEntry.objects.count() == 0 and JournalEntry.objects.count() == 0


def test_a_sub_account_of_patient_ar_counts_as_a_patient_account(users):
    parent = Account.objects.get(key="patient_ar")
    sub = services.account_create(
        actor=users["manager"], code="1111", name="Patient payment plans", type="asset",
        parent=parent,
    )  # fmt: skip
    lines = [ManualLine(sub.code, debit="10.00"), ManualLine(code("other_expense"), credit="10.00")]
    with pytest.raises(InvalidInput) as refused:
        services.manual_entry_submit(actor=users["manager"], date=last_month(), memo="Plan",
                                     lines=lines)  # fmt: skip
    assert set(refused.value.errors) == {"lines.1.patient"}
    assert "Patient payment plans" in refused.value.errors["lines.1.patient"][0]


def test_the_patient_is_named_by_mrn_and_posts_on_the_patient_account(users):
    patient = pf.patient()
    lines = [
        ManualLine(code("patient_ar"), debit="30.00", patient=patient.mrn),
        ManualLine(code("revenue:office_visits"), credit="30.00"),
    ]
    draft = services.manual_entry_submit(
        actor=users["manager"], date=last_month(), memo="Missed charge", lines=lines
    )
    assert draft.status == ManualEntryStatus.POSTED
    assert selectors.patient_account_cents([patient.pk]) == {patient.pk: 3000}
    assert draft.lines[0]["patient"] == patient.pk and draft.lines[1]["patient"] is None


def test_a_patient_waiting_for_approval_posts_on_approval(users):
    patient = pf.patient()
    lines = [
        ManualLine(code("bad_debt"), debit="12000.00"),
        ManualLine(code("patient_ar"), credit="12000.00", patient=patient),
    ]
    draft = services.manual_entry_submit(
        actor=users["manager"], date=last_month(), memo="Write-off", lines=lines
    )
    assert draft.status == ManualEntryStatus.PENDING
    approval_decide(request_id=draft.approval_id, decided_by=users["owner"], approve=True)
    assert selectors.patient_account_cents([patient.pk]) == {patient.pk: -1200000}


def test_unknown_or_misplaced_patients_are_named(users):
    patient = pf.patient()
    lines = [
        ManualLine(code("patient_ar"), debit="30.00", patient="NO-SUCH"),
        ManualLine(code("other_expense"), credit="30.00", patient=patient.mrn),
    ]
    with pytest.raises(InvalidInput) as refused:
        services.manual_entry_submit(actor=users["manager"], date=last_month(), memo="x",
                                     lines=lines)  # fmt: skip
    errors = refused.value.errors
    assert "no patient with MRN 'NO-SUCH'" in errors["lines.1.patient"][0]
    assert "not a patient account" in errors["lines.2.patient"][0]
    assert ManualEntry.objects.count() == 0


def test_the_page_takes_the_patient_on_a_line(client_for):
    patient = pf.patient()
    data = {"date": last_month().isoformat(), "memo": "Missed charge", "idempotency_key": "p1",
            "account_1": code("patient_ar"), "debit_1": "4.00", "credit_1": "", "memo_1": "",
            "patient_1": "",
            "account_2": code("revenue:office_visits"), "debit_2": "", "credit_2": "4.00",
            "memo_2": "", "patient_2": ""}  # fmt: skip
    refused = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert refused.status_code == 422 and list(refused.context["errors"]) == ["lines.1.patient"]
    assert refused.context["lines"][0]["errors"]
    data["patient_1"] = patient.mrn
    done = client_for("manager").post(reverse("ledger:manual_entry_new"), data)
    assert done.status_code == 302
    assert selectors.patient_account_cents([patient.pk]) == {patient.pk: 400}


# --- Closing over pending entries ---------------------------------------------------------------


def test_a_month_with_manual_entries_waiting_does_not_close(users):
    month = last_month()
    draft = services.manual_entry_submit(
        actor=users["manager"], date=month.replace(day=20), memo="Accrual",
        lines=two_lines("12000.00"),
    )  # fmt: skip
    assert draft.status == ManualEntryStatus.PENDING
    with pytest.raises(InvalidTransition) as refused:
        services.close_period(month=month, actor=users["manager"])
    assert f"manual entry {draft.pk} waiting for approval" in refused.value.message
    assert month.strftime("%B %Y") in refused.value.message
    assert not FiscalPeriod.objects.filter(start=month, status=PeriodStatus.CLOSED).exists()
    approval_decide(
        request_id=draft.approval_id, decided_by=users["owner"], approve=False, note="no invoice"
    )
    assert services.close_period(month=month, actor=users["manager"]).status == PeriodStatus.CLOSED
