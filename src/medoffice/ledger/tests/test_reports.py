"""The books' reports: figures from posted entries, the pages, their CSV and PDF."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medoffice.core.models import AuditEvent
from medoffice.ledger import exports, reports, selectors, services
from medoffice.ledger.models import Account
from medoffice.ledger.services import Line, Posting
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

D = dt.date


def post(users, source_id, day, *lines, kind="event", **kwargs):
    return services.post(
        Posting(
            source_type="tests.event", source_id=str(source_id), date=day, lines=list(lines),
            kind=kind, **kwargs,
        ),
        actor=users["manager"],
    )  # fmt: skip


@pytest.fixture
def books(users, practice):
    """Two locations, two providers, a patient; a year and a half of postings."""
    north, south = factories.location(name="North"), factories.location(name="South")
    kim, lee = factories.provider(last_name="Kim"), factories.provider(last_name="Lee")
    patient = pf.patient()
    post(
        users,
        1,
        D(2025, 12, 20),
        Line("bank_operating", debit="1000.00"),
        Line("owner_equity", credit="1000.00"),
    )
    post(
        users,
        2,
        D(2025, 12, 21),
        Line("bank_operating", debit="50.00"),
        Line("revenue:other", credit="50.00"),
    )  # an earlier year's revenue, never closed
    post(
        users,
        3,
        D(2026, 1, 5),
        Line("patient_ar", debit="200.00", patient=patient),
        Line("revenue:office_visits", credit="200.00", location=north, provider=kim),
    )
    post(
        users,
        4,
        D(2026, 1, 6),
        Line("bank_operating", debit="80.00"),
        Line("patient_ar", credit="80.00", patient=patient),
    )
    post(
        users,
        5,
        D(2026, 2, 10),
        Line("insurance_ar", debit="300.00", location=south),
        Line("revenue:procedures", credit="300.00", location=south, provider=lee),
    )
    post(
        users,
        6,
        D(2026, 2, 11),
        Line("contractual_adjustments", debit="40.00", location=south),
        Line("insurance_ar", credit="40.00", location=south),
    )
    post(
        users,
        7,
        D(2026, 2, 15),
        Line("rent_expense", debit="120.00", location=north),
        Line("bank_operating", credit="120.00"),
    )
    post(
        users,
        8,
        D(2026, 2, 16),
        Line("bank_operating", debit="25.00"),
        Line("unapplied_patient", credit="25.00", patient=patient),
    )
    return {"north": north, "south": south, "kim": kim, "lee": lee, "patient": patient}


def acct(key: str) -> Account:
    return Account.objects.get(key=key)


def test_the_trial_balance_filters_by_location_and_provider(books):
    whole = selectors.trial_balance(D(2026, 2, 28))
    assert whole.balanced and whole.total_debit == Decimal("1575.00")
    north = selectors.trial_balance(D(2026, 2, 28), location_id=books["north"].pk)
    assert {row.account.key: (row.debit, row.credit) for row in north.rows} == {
        "revenue:office_visits": (Decimal("0.00"), Decimal("200.00")),
        "rent_expense": (Decimal("120.00"), Decimal("0.00")),
    }
    lee = selectors.trial_balance(D(2026, 2, 28), provider_id=books["lee"].pk)
    assert [row.account.key for row in lee.rows] == ["revenue:procedures"]


def test_general_ledger_detail_runs_the_balance_from_the_opening(books):
    bank = acct("bank_operating")
    detail = reports.account_detail(bank, since=D(2026, 1, 1), until=D(2026, 2, 28))
    assert detail.opening == Decimal("1050.00")
    assert [(line.date, line.debit, line.credit, line.balance) for line in detail.lines] == [
        (D(2026, 1, 6), Decimal("80.00"), None, Decimal("1130.00")),
        (D(2026, 2, 15), None, Decimal("120.00"), Decimal("1010.00")),
        (D(2026, 2, 16), Decimal("25.00"), None, Decimal("1035.00")),
    ]
    assert detail.closing == Decimal("1035.00") and detail.count == 3
    assert detail.lines[0].source == "tests.event:4"
    page = reports.account_detail(
        bank, since=D(2026, 1, 1), until=D(2026, 2, 28), offset=1, limit=1
    )
    assert [line.balance for line in page.lines] == [Decimal("1010.00")] and page.has_more
    cut = list(csv.reader(io.StringIO("".join(exports.account_detail_csv(page)))))
    assert cut[-1] == ["", "", "", "1 more lines not shown: choose a shorter range"]
    # A credit-normal account runs on its own side.
    revenue = reports.account_detail(acct("revenue:procedures"), location_id=books["south"].pk)
    assert revenue.closing == Decimal("300.00")
    assert (
        reports.account_detail(acct("revenue:procedures"), location_id=books["north"].pk).count == 0
    )


def test_the_income_statement_by_month_nets_the_contra_account(books):
    statement = reports.income_statement(since=D(2026, 1, 1), until=D(2026, 2, 28), by="month")
    assert [label for _, label in statement.columns] == ["Jan 2026", "Feb 2026"]
    revenue = {row.account.key: row.cells for row in statement.revenue}
    jan, feb = D(2026, 1, 1), D(2026, 2, 1)
    assert revenue["revenue:office_visits"] == {jan: 20000}
    assert revenue["contractual_adjustments"] == {feb: -4000}  # reduces revenue
    assert statement.revenue_totals == {jan: 20000, feb: 26000}
    assert statement.expense_totals == {jan: 0, feb: 12000}
    assert statement.net_totals == {jan: 20000, feb: 14000}
    assert statement.net_income_cents == 34000
    assert "revenue:other" not in revenue  # December 2025 is outside the range


def test_the_income_statement_by_month_is_at_most_three_years(books):
    from medoffice.core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="at most 36 months"):
        reports.income_statement(since=D(2023, 1, 1), until=D(2026, 1, 31), by="month")
    wide = reports.income_statement(since=D(2023, 1, 1), until=D(2026, 1, 31), by="location")
    assert wide.net_income_cents == 5000 + 20000


def test_the_income_statement_by_location(books):
    statement = reports.income_statement(since=D(2026, 1, 1), until=D(2026, 2, 28), by="location")
    labels = dict(statement.columns)
    assert labels == {books["north"].pk: "North", books["south"].pk: "South"}
    assert statement.net_totals == {books["north"].pk: 8000, books["south"].pk: 26000}


def test_the_balance_sheet_balances_with_this_years_income_on_its_own_line(books):
    sheet = reports.balance_sheet(D(2026, 2, 28))
    assert sheet.balanced
    equity = {row.label: row.amount for row in sheet.equity}
    assert equity["3000 Owner's equity"] == Decimal("1000.00")
    assert equity["Earnings of earlier years not closed"] == Decimal("50.00")
    assert equity["Net income, 2026 to date"] == Decimal("340.00")
    assets = {row.account.key: row.amount for row in sheet.assets}
    assert assets == {
        "bank_operating": Decimal("1035.00"), "patient_ar": Decimal("120.00"),
        "insurance_ar": Decimal("260.00"),
    }  # fmt: skip
    assert {row.account.key: row.amount for row in sheet.liabilities} == {
        "unapplied_patient": Decimal("25.00")
    }


def test_after_the_year_end_close_the_earnings_sit_in_retained_earnings(users, books):
    post(users, "close-2025", D(2025, 12, 31), Line("revenue:other", debit="50.00"),
         Line("retained_earnings", credit="50.00"), kind="closing")  # fmt: skip
    sheet = reports.balance_sheet(D(2026, 2, 28))
    equity = {row.label: row.amount for row in sheet.equity}
    assert "Earnings of earlier years not closed" not in equity
    assert equity["3100 Retained earnings"] == Decimal("50.00")
    assert sheet.balanced
    year_end = reports.balance_sheet(D(2025, 12, 31))
    assert {row.label: row.amount for row in year_end.equity}["Net income, 2025 to date"] == 0


def test_a_patient_account_runs_what_the_patient_owes(books):
    activity = reports.patient_activity(books["patient"].pk)
    assert [(line.charge, line.payment, line.balance) for line in activity.lines] == [
        (Decimal("200.00"), None, Decimal("200.00")),
        (None, Decimal("80.00"), Decimal("120.00")),
        (None, Decimal("25.00"), Decimal("95.00")),  # paid ahead, on unapplied payments
    ]
    assert (
        activity.balance_cents
        == selectors.patient_account_cents([books["patient"].pk])[books["patient"].pk]
    )
    later = reports.patient_activity(books["patient"].pk, since=D(2026, 2, 1))
    assert later.opening == Decimal("120.00") and later.balance == Decimal("95.00")
    newest = reports.patient_activity(books["patient"].pk, limit=1)
    assert newest.truncated and newest.opening == Decimal("120.00")


# --- Pages ---------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("ledger:home", {}),
        ("ledger:trial_balance", {"as_of": "2026-02-28"}),
        ("ledger:general_ledger", {}),
        ("ledger:income_statement", {"since": "2026-01-01", "until": "2026-02-28"}),
        (
            "ledger:income_statement",
            {"since": "2026-01-01", "until": "2026-02-28", "by": "location"},
        ),
        ("ledger:balance_sheet", {"as_of": "2026-02-28"}),
        ("ledger:exports", {}),
    ],
)
def test_the_pages_open_for_the_books_roles_only(client_for, books, name, params):
    url = reverse(name)
    for role in ("owner", "manager", "biller", "auditor"):
        assert client_for(role).get(url, params).status_code == 200, role
    for role in ("front_desk", "clinician", "hr_payroll", "medical_assistant"):
        assert client_for(role).get(url, params).status_code == 403, role


def test_the_books_home_lists_the_reports_and_the_books_pages(client_for, practice):
    page = client_for("auditor").get(reverse("ledger:home")).content.decode()
    for name in ("trial_balance", "income_statement", "balance_sheet", "general_ledger",
                 "exports", "chart", "periods", "manual_entries"):  # fmt: skip
        assert f'href="{reverse("ledger:" + name)}"' in page, name


def test_the_income_statement_page_shows_net_income_and_exports(client_for, books):
    client = client_for("manager")
    url = reverse("ledger:income_statement")
    params = {"since": "2026-01-01", "until": "2026-02-28"}
    page = client.get(url, params).content.decode()
    assert "$340.00" in page and "Contractual adjustments" in page and "data-sortable" in page
    rows = _csv(client.get(url, {**params, "format": "csv"}))
    assert rows[0] == ["section", "account", "2026-01-01", "2026-02-01", "total"]
    assert rows[-1] == ["", "Net income", "200.00", "140.00", "340.00"]
    pdf = client.get(url, {**params, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Net income" in text and "$340.00" in text


def test_the_balance_sheet_page_csv_and_pdf(client_for, books):
    client = client_for("auditor")
    url = reverse("ledger:balance_sheet")
    page = client.get(url, {"as_of": "2026-02-28"}).content.decode()
    assert "assets equal liabilities and equity" in page and "Net income, 2026 to date" in page
    rows = _csv(client.get(url, {"as_of": "2026-02-28", "format": "csv"}))
    assert ["Assets", "Total assets", "1415.00"] in rows
    assert rows[-1] == ["", "Liabilities and equity", "1415.00"]
    pdf = client.get(url, {"as_of": "2026-02-28", "format": "pdf"})
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Balance sheet as of 02/28/2026" in text and "$1,415.00" in text


def test_the_general_ledger_page_and_csv(client_for, books):
    client = client_for("biller")
    url = reverse("ledger:account_detail", args=[acct("bank_operating").pk])
    params = {"since": "2026-01-01", "until": "2026-02-28"}
    page = client.get(url, params).content.decode()
    assert (
        "$1,035.00" in page
        and "Event 7" in page
        and "tests.event:7" not in page
        and "01/06/2026" in page
    )
    rows = _csv(client.get(url, {**params, "format": "csv"}))
    assert rows[1] == ["2026-01-01", "", "", "Opening balance", "", "", "", "", "1050.00"]
    assert rows[-1][0] == "2026-02-16" and rows[-1][-1] == "1035.00"
    assert client.get(reverse("ledger:account_detail", args=[999999])).status_code == 404


def test_the_trial_balance_page_and_csv_with_filters(client_for, books):
    client = client_for("manager")
    url = reverse("ledger:trial_balance")
    rows = _csv(
        client.get(url, {"as_of": "2026-02-28", "format": "csv", "location": books["north"].pk})
    )
    assert rows[1:] == [
        ["4010", "Revenue: office visits", "revenue", "", "200.00"],
        ["5300", "Rent and occupancy", "expense", "120.00", ""],
        ["", "Total", "", "120.00", "200.00"],
    ]
    assert client.get(url, {"location": "x"}).status_code == 422


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("ledger:trial_balance", {"as_of": "2026-12-31"}),
        ("ledger:income_statement", {"since": "2026-01-01", "until": "2026-12-31"}),
        ("ledger:balance_sheet", {"as_of": "2026-12-31"}),
    ],
)
def test_the_report_pages_run_the_same_queries_however_many_entries(
    client_for, users, practice, name, params
):
    client = client_for("manager")
    url = reverse(name)
    for n in range(3):
        post(users, f"a{n}", D(2026, 3, 1 + n), Line("bank_operating", debit="10.00"),
             Line("revenue:other", credit="10.00"))  # fmt: skip
    few = _queries(client, url, params)
    for n in range(40):
        post(users, f"b{n}", D(2026, 4 + n % 6, 1 + n % 20),
             Line("bank_operating", debit=f"{n + 1}.00"),
             Line("revenue:laboratory" if n % 2 else "rent_expense", credit=f"{n + 1}.00"),
             location=factories.location() if n % 10 == 0 else None)  # fmt: skip
    assert _queries(client, url, params) == few


# --- The patient statement: a PHI read --------------------------------------------------------


def test_the_patient_statement_is_one_audited_read(client_for, users, books):
    patient = books["patient"]
    client = client_for("biller")
    url = reverse("ledger:patient_statement", args=[patient.pk])
    for params, action in (({}, "view"), ({"format": "csv"}, "download"),
                           ({"format": "pdf"}, "download")):  # fmt: skip
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(url, params)
        assert response.status_code == 200
        if params.get("format") == "csv":
            rows = _csv(response)
            assert rows[-1][-1] == "95.00"
        elif params.get("format") == "pdf":
            assert response.content.startswith(b"%PDF")
        else:
            assert "$95.00" in response.content.decode()
        new = list(AuditEvent.objects.filter(id__gt=last))
        assert [(e.action, e.patient_id, e.actor_id) for e in new] == [
            (action, str(patient.pk), users["biller"].pk)
        ]
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert client_for("front_desk").get(url).status_code == 403
    assert not AuditEvent.objects.filter(id__gt=last, action="view").exists()


def test_the_patient_record_links_the_statement_for_those_who_see_the_books(client_for, books):
    patient = books["patient"]
    statement = reverse("ledger:patient_statement", args=[patient.pk])
    record = reverse("patients:detail", args=[patient.pk])
    assert statement in client_for("biller").get(record).content.decode()
    assert statement not in client_for("front_desk").get(record).content.decode()
