"""The journal entry page and its Reverse action; the books' sub-menu; the general ledger and
the patient statement naming each line's source in words, linked to its page, in a fixed
number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from medoffice.core.models import AuditEvent
from medoffice.ledger import services
from medoffice.ledger.models import Account, EntryKind, JournalEntry
from medoffice.ledger.services import ManualLine
from medoffice.reception import services as desk
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


def code(key: str) -> str:
    return Account.objects.get(key=key).code


def manual(users, day: dt.date | None = None) -> JournalEntry:
    draft = services.manual_entry_submit(
        actor=users["manager"], date=day or timezone.localdate(), memo="Reclass",
        lines=[ManualLine(code("supplies_expense"), debit="40.00"),
               ManualLine(code("other_expense"), credit="40.00")],
    )  # fmt: skip
    assert draft.entry is not None
    return draft.entry


def pay(users, patient, amount: str = "25.00"):
    from medoffice.core.models import Location

    place = Location.objects.filter(name="Main St").first() or factories.location(name="Main St")
    return desk.payment_record(
        patient=patient, payment=PaymentInput(amount=amount, method="cash"),
        received_by=users["front_desk"], location=place,
    )  # fmt: skip


def test_the_entry_page_opens_for_the_books_only(client, client_for, users):
    entry = manual(users)
    url = reverse("ledger:entry_detail", args=[entry.pk])
    assert client.get(url).status_code == 302
    assert client_for("front_desk").get(url).status_code == 403
    page = client_for("auditor").get(url)
    assert page.status_code == 200 and b"Manual entry" in page.content
    assert b'id="reverse-entry"' not in page.content  # the auditor may not reverse
    assert b'id="reverse-entry"' in client_for("manager").get(url).content
    assert client_for("auditor").get(reverse("ledger:entry_detail", args=[999999])).status_code == (
        404
    )


def test_reversing_from_the_page(client_for, users):
    entry = manual(users)
    url = reverse("ledger:entry_reverse", args=[entry.pk])
    assert client_for("biller").post(url, {"reason": "x"}).status_code == 403
    assert not JournalEntry.objects.filter(kind=EntryKind.REVERSAL).exists()
    manager = client_for("manager")
    no_reason = manager.post(url, {"reason": " "}, follow=True)
    assert b"Say why the entry is reversed" in no_reason.content
    done = manager.post(url, {"reason": "wrong account"})
    reversal = JournalEntry.objects.get(kind=EntryKind.REVERSAL)
    assert done["Location"] == reverse("ledger:entry_detail", args=[reversal.pk])
    assert reversal.reverses_id == entry.pk and "wrong account" in reversal.memo
    assert AuditEvent.objects.filter(object_id=str(entry.pk), reason="wrong account").exists()
    again = manager.post(url, {"reason": "twice"}, follow=True)
    assert f"already reversed, by entry {reversal.pk}".encode() in again.content
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    original = manager.get(reverse("ledger:entry_detail", args=[entry.pk])).content.decode()
    assert 'id="reversed-by"' in original and 'id="reverse-entry"' not in original
    listing = manager.get(reverse("ledger:manual_entries")).content.decode()
    assert "reversed by <a" in listing and str(reversal.pk) in listing


def test_a_reversal_into_a_closed_month_is_refused_naming_it(client_for, users):
    month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    entry = manual(users, month.replace(day=2))
    services.close_period(month=month, actor=users["manager"])
    url = reverse("ledger:entry_reverse", args=[entry.pk])
    page = client_for("manager").post(
        url, {"reason": "late", "date": month.replace(day=28).isoformat()}, follow=True
    )
    assert f"{month:%B %Y} is closed".encode() in page.content
    assert not JournalEntry.objects.filter(kind=EntryKind.REVERSAL).exists()


def test_a_desk_payment_is_not_reversed_here(client_for, users):
    payment = pay(users, pf.patient())
    entry = JournalEntry.objects.get(source_type="reception.payment")
    page = client_for("owner").get(reverse("ledger:entry_detail", args=[entry.pk])).content
    assert b'id="reverse-entry"' not in page and b"void the payment" in page
    assert f"Payment, receipt {payment.receipt_number}".encode() in page
    refused = client_for("owner").post(
        reverse("ledger:entry_reverse", args=[entry.pk]), {"reason": "oops"}, follow=True
    )
    assert b"void the payment" in refused.content and b"refund" in refused.content
    assert JournalEntry.objects.count() == 1


def test_the_books_menu_reaches_the_chart_periods_and_manual_entries(client_for):
    page = client_for("manager").get(reverse("ledger:home")).content.decode()
    for name in ("ledger:chart", "ledger:periods", "ledger:manual_entries"):
        assert f'href="{reverse(name)}"' in page, name
    periods = client_for("manager").get(reverse("ledger:periods")).content.decode()
    assert 'aria-label="Books"' in periods and 'aria-current="page">Periods' in periods


def test_the_general_ledger_names_sources_in_words_with_links(client_for, users):
    patient = pf.patient()
    payment = pay(users, patient)
    entry = manual(users)
    cash = JournalEntry.objects.get(source_type="reception.payment").lines.get(amount_cents__gt=0)
    url = reverse("ledger:account_detail", args=[cash.account_id])
    page = client_for("owner").get(url).content.decode()
    assert f"Payment, receipt {payment.receipt_number}" in page
    assert f'href="{reverse("reception:receipt", args=[payment.pk])}"' in page
    assert "reception.payment:" not in page
    supplies = Account.objects.get(key="supplies_expense")
    page = client_for("owner").get(reverse("ledger:account_detail", args=[supplies.pk])).content
    assert f'href="{reverse("ledger:entry_detail", args=[entry.pk])}"'.encode() in page
    assert b"ledger.manual_entry:" not in page


def test_the_patient_statement_names_sources_in_words(client_for, users):
    patient = pf.patient()
    payment = pay(users, patient)
    desk.payment_void(payment_id=payment.pk, voided_by=users["front_desk"], reason="mistake")
    url = reverse("ledger:patient_statement", args=[patient.pk])
    page = client_for("owner").get(url).content.decode()
    assert f"Payment, receipt {payment.receipt_number}" in page
    assert f"Payment, receipt {payment.receipt_number} (void)" in page
    assert "reception.payment:" not in page


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_pages_cost_the_same_queries_however_many_sources(client_for, users):
    patient = pf.patient()
    pay(users, patient)
    manual(users)
    cash = JournalEntry.objects.get(source_type="reception.payment").lines.get(amount_cents__gt=0)
    client = client_for("owner")
    gl = reverse("ledger:account_detail", args=[cash.account_id])
    statement = reverse("ledger:patient_statement", args=[patient.pk])
    supplies = reverse(
        "ledger:account_detail", args=[Account.objects.get(key="supplies_expense").pk]
    )
    few = (_queries(client, gl), _queries(client, statement), _queries(client, supplies))
    for n in range(6):
        pay(users, patient, f"{n + 1}.00")
        manual(users)
    many = (_queries(client, gl), _queries(client, statement), _queries(client, supplies))
    assert many == few


# --- Words on the pages -------------------------------------------------------------------------


def test_the_entry_page_names_the_patient_account_and_records_the_read(client_for, users):
    patient = pf.patient()
    entry = services.post(
        services.Posting(
            source_type="tests.adjust", source_id=1, date=timezone.localdate(),
            lines=[services.Line("patient_ar", debit="7.00", patient=patient),
                   services.Line("revenue:office_visits", credit="7.00")],
        ),
        actor=users["manager"],
    )  # fmt: skip
    before = AuditEvent.objects.filter(object_type="patients.patient", action="view").count()
    page = client_for("manager").get(reverse("ledger:entry_detail", args=[entry.pk]))
    text = page.content.decode()
    assert f"{patient.full_name} (MRN {patient.mrn})" in text
    assert reverse("ledger:patient_statement", args=[patient.pk]) in text
    event = AuditEvent.objects.filter(object_type="patients.patient", action="view").order_by("-id")
    assert event.count() == before + 1 and event.first().changes["patients"] == [patient.pk]
    assert event.first().actor_id == users["manager"].pk


def test_the_account_page_shows_no_internal_key(client_for):
    account = Account.objects.get(key="unapplied_patient")
    page = client_for("manager").get(reverse("ledger:account_edit", args=[account.pk]))
    assert page.status_code == 200
    assert b"unapplied_patient" not in page.content and b"posting code" not in page.content


def test_the_approvals_queue_shows_amounts_with_separators(client_for, users):
    draft = services.manual_entry_submit(
        actor=users["manager"], date=timezone.localdate(), memo="Accrual",
        lines=[ManualLine(code("supplies_expense"), debit="12600.00"),
               ManualLine(code("other_expense"), credit="12600.00")],
    )  # fmt: skip
    assert draft.entry is None
    page = client_for("owner").get(reverse("core:approvals")).content.decode()
    assert "$12,600.00" in page and "$12600.00" not in page


def test_a_card_settlement_is_named_in_words_with_its_page(users):
    from decimal import Decimal

    from medoffice.ledger import sources
    from medoffice.reception.models import CardSettlement

    place = factories.location(name="Oak Park")
    settlement = CardSettlement.objects.create(
        location=place, date=dt.date(2026, 11, 3), gross=Decimal("100.00"),
        fees=Decimal("3.00"), net=Decimal("97.00"), made_at=timezone.now(),
        made_by=users["manager"],
    )  # fmt: skip
    label = sources.describe_keys([f"reception.cardsettlement:{settlement.pk}"])
    shown = label[f"reception.cardsettlement:{settlement.pk}"]
    assert shown.text == f"Card settlement {settlement.pk}, Oak Park 11/03/2026"
    assert shown.url == f"{reverse('reception:deposits')}?location={place.pk}"


def test_the_patient_statement_pdf_reads_as_the_patient_reads_it(client_for, users):
    import io

    from pypdf import PdfReader

    patient = pf.patient()
    payment = pay(users, patient)
    url = reverse("ledger:patient_statement", args=[patient.pk])
    pdf = client_for("owner").get(url, {"format": "pdf"})
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert f"Payment, receipt {payment.receipt_number}" in text
    assert "Credit on account" in text and f"{payment.amount:,.2f} credit" in text
    assert "Unapplied patient payments" not in text and "-$" not in text
    # The foot says "credit" once: its words already do, so its amount is the amount alone.
    assert text.rstrip().endswith(f"Credit on account ${payment.amount:,.2f}")
    assert f"Credit on account ${payment.amount:,.2f} credit" not in text


def test_the_patient_statement_pdf_foot_says_what_is_due_or_the_balance(users):
    import dataclasses
    import io

    from pypdf import PdfReader

    from medoffice.ledger import documents, reports

    empty = reports.patient_activity(pf.patient().pk)
    for cents, words in (
        (7000, "Amount due $70.00"),
        (0, "Balance $0.00"),
        (-11500, "Credit on account $115.00"),
    ):
        activity = dataclasses.replace(empty, balance_cents=cents)
        pdf = documents.patient_statement_pdf(activity, patient_name="A. Patient", mrn="1")
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert text.rstrip().endswith(words), (cents, text[-80:])
