"""The journal for the outside accountant: CSV and IIF parsed back and balanced per
transaction; the Beancount file checked by `bean-check`, an independent program.

beancount is GPL-2.0: it is never imported, only run as its own process. It lives in its own
virtualenv (.ci/run makes it: `.venv-beancount/bin/bean-check`), or wherever
MEDOFFICE_BEAN_CHECK points. Without it the test skips, except under CI, where it fails.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from medoffice.core.models import AuditEvent
from medoffice.ledger import exports, services
from medoffice.ledger.models import Account, JournalLine
from medoffice.ledger.services import Line, Posting
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[4]


def bean_check() -> str:
    configured = os.environ.get("MEDOFFICE_BEAN_CHECK", "")
    path = Path(configured) if configured else ROOT / ".venv-beancount" / "bin" / "bean-check"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    reason = (
        f"bean-check is not installed at {path} (python3.11 -m venv .venv-beancount && "
        ".venv-beancount/bin/pip install beancount, or set MEDOFFICE_BEAN_CHECK)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI requires bean-check: {reason}")
    pytest.skip(reason)


@pytest.fixture
def journal(users, practice):
    """Entries over accounts of every type, a per-location drawer whose name has an accent,
    memos with quotes and tabs, a reversal."""
    cafe = factories.location(name="Café Nord")
    patient = pf.patient()
    manager = users["manager"]

    def post(n, day, *lines, memo="", location=None):
        return services.post(
            Posting(source_type="tests.event", source_id=str(n), date=day, lines=list(lines),
                    memo=memo, location=location),
            actor=manager,
        )  # fmt: skip

    post(
        1,
        dt.date(2026, 1, 2),
        Line("bank_operating", debit="5000.00"),
        Line("owner_equity", credit="5000.00"),
        memo='Owner\'s "first" deposit',
    )
    post(
        2,
        dt.date(2026, 1, 5),
        Line("cash_drawer", debit="40.00"),
        Line("unapplied_patient", credit="40.00", patient=patient),
        memo="copay\tat the desk",
        location=cafe,
    )
    post(
        3,
        dt.date(2026, 1, 6),
        Line("patient_ar", debit="150.00", patient=patient),
        Line("insurance_ar", debit="350.00"),
        Line("revenue:office_visits", credit="500.00"),
    )
    post(
        4,
        dt.date(2026, 1, 20),
        Line("contractual_adjustments", debit="75.25"),
        Line("insurance_ar", credit="75.25"),
    )
    rent = post(
        5,
        dt.date(2026, 2, 1),
        Line("rent_expense", debit="1200.00"),
        Line("bank_operating", credit="1200.00"),
        memo="February rent",
    )
    services.reverse(rent, actor=manager, on=dt.date(2026, 2, 2), memo="keyed twice")
    post(
        6,
        dt.date(2026, 2, 3),
        Line("accumulated_depreciation", credit="10.00"),
        Line("depreciation_expense", debit="10.00"),
        Line("accounts_payable", credit="0.01"),
        Line("supplies_expense", debit="0.01"),
    )
    return {"cafe": cafe, "patient": patient}


def _text(chunks) -> str:
    return "".join(chunks)


def test_the_csv_journal_balances_per_entry(journal):
    rows = list(csv.DictReader(io.StringIO(_text(exports.journal_csv()))))
    assert list(rows[0]) == list(exports.JOURNAL_COLUMNS)
    assert len(rows) == JournalLine.objects.count()
    debits: dict[str, Decimal] = defaultdict(Decimal)
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        assert bool(row["debit"]) != bool(row["credit"]), row
        debits[row["entry_id"]] += Decimal(row["debit"] or "0")
        credits[row["entry_id"]] += Decimal(row["credit"] or "0")
        dt.date.fromisoformat(row["date"])  # ISO dates
    assert debits == credits and len(debits) == 7
    first = rows[0]
    assert (first["account_code"], first["account_name"], first["debit"]) == (
        "1030", "Bank: operating", "5000.00",
    )  # fmt: skip
    assert first["memo"] == 'Owner\'s "first" deposit'
    january = list(
        csv.DictReader(io.StringIO(_text(exports.journal_csv(until=dt.date(2026, 1, 31)))))
    )
    assert {row["entry_id"] for row in january} == set(list(debits)[:4])


def _iif_blocks(text: str) -> tuple[list[str], dict[str, str], list[list[list[str]]]]:
    lines = text.split("\r\n")
    assert lines[-1] == ""
    headers = [line for line in lines if line.startswith("!")]
    accounts: dict[str, str] = {}
    blocks: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in lines[:-1]:
        fields = line.split("\t")
        if fields[0] == "ACCNT":
            accounts[fields[1]] = fields[2]
        elif fields[0] == "TRNS":
            assert current is None, "TRNS inside a transaction"
            current = [fields]
        elif fields[0] == "SPL":
            assert current is not None, "SPL outside a transaction"
            current.append(fields)
        elif fields[0] == "ENDTRNS":
            assert current is not None, "ENDTRNS outside a transaction"
            blocks.append(current)
            current = None
    assert current is None
    return headers, accounts, blocks


def test_the_iif_file_has_one_balanced_block_per_entry(journal):
    headers, accounts, blocks = _iif_blocks(_text(exports.journal_iif()))
    assert headers == [
        "!ACCNT\tNAME\tACCNTTYPE\tACCNUM\tDESC",
        "!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO",
        "!SPL\tSPLID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO",
        "!ENDTRNS",
    ]
    assert len(blocks) == 7
    for block in blocks:
        assert sum(Decimal(fields[5]) for fields in block) == 0, block
        assert len({fields[3] for fields in block}) == 1  # one date
        assert all(fields[4] in accounts for fields in block)  # every account is declared
        assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", fields[3]) for fields in block)
        assert all(fields[2] == "GENERAL JOURNAL" for fields in block)
    first = blocks[0]
    assert first[0][3:6] == ["01/02/2026", "Cash and bank:Bank - operating", "5000.00"]
    assert first[1][4:6] == ["Owner's equity", "-5000.00"]
    assert first[0][7] == "Owner's first deposit"  # no quotes or tabs inside a field
    assert accounts["Cash and bank:Bank - operating"] == "BANK"
    assert accounts["Patient service revenue:Revenue - office visits"] == "INC"
    assert accounts["Operating expenses:Rent and occupancy"] == "EXP"
    drawer = next(name for name in accounts if "Nord" in name)
    assert drawer.startswith("Cash and bank:Cash drawers:Cash drawer - Caf")


def test_iif_names_cut_to_31_characters_stay_apart(users, practice):
    """Two payers whose names share their first 31 characters must not become one account in
    QuickBooks: a name cut short that would read as another's ends with its account code."""
    parent = Account.objects.get(key="insurance_ar")
    shared = "Insurance A/R - Blue Cross Blue Shield of "  # 42 characters in common
    made = [
        Account.objects.create(
            code=f"1120-{n}",
            name=f"{shared}{state}",
            type=parent.type,
            normal_side=parent.normal_side,
            parent=parent,
        )
        for n, state in ((1, "Massachusetts"), (2, "Michigan"))
    ]
    short = Account.objects.create(
        code="1120-3", name="Aetna", type=parent.type, normal_side=parent.normal_side,
        parent=parent,
    )  # fmt: skip
    exact = Account.objects.create(  # exactly 31 characters: kept whole, as it fits
        code="1120-4", name=shared[:31], type=parent.type, normal_side=parent.normal_side,
        parent=parent,
    )  # fmt: skip
    for n, account in enumerate([*made, short, exact]):
        services.post(
            Posting(source_type="tests.event", source_id=f"iif{n}", date=dt.date(2026, 3, 2),
                    lines=[Line(account, debit="10.00"), Line("bank_operating", credit="10.00")]),
            actor=users["manager"],
        )  # fmt: skip
    _, accounts, blocks = _iif_blocks(_text(exports.journal_iif()))
    names = exports.iif_account_names(Account.objects.all())
    head = names[parent.pk]
    assert names[made[0].pk] == f"{head}:Insurance A/R - Blue C (1120-1)"
    assert names[made[1].pk] == f"{head}:Insurance A/R - Blue C (1120-2)"
    assert names[short.pk] == f"{head}:Aetna" and names[exact.pk] == f"{head}:{shared[:31]}"
    assert len(set(names.values())) == len(names)  # no two accounts share a name
    assert len({name.casefold() for name in accounts}) == len(accounts) == len(names)
    assert all(len(part) <= 31 for name in accounts for part in name.split(":"))
    posted_to = {fields[4] for block in blocks for fields in block}
    assert {names[a.pk] for a in [*made, short, exact]} <= posted_to


def test_the_beancount_file_passes_bean_check(journal, tmp_path):
    checker = bean_check()
    text = _text(exports.journal_beancount(title="Test practice"))
    for account in Account.objects.all():
        name = exports.beancount_name(account)
        assert re.fullmatch(
            r"(Assets|Liabilities|Equity|Income|Expenses):[A-Z0-9][A-Za-z0-9-]*", name
        )
    ledger = tmp_path / "books.beancount"
    ledger.write_text(text, encoding="utf-8")
    result = subprocess.run([checker, str(ledger)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr + text
    assert text.count(' * "tests.event:') == 7 and '"keyed twice"' in text

    # The check can fail: one amount changed, and bean-check names the unbalanced entry.
    broken = tmp_path / "broken.beancount"
    broken.write_text(text.replace("-5000.00 USD", "-4999.00 USD", 1), encoding="utf-8")
    refused = subprocess.run([checker, str(broken)], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "balance" in (refused.stdout + refused.stderr).lower()


def test_the_export_pages_stream_and_are_audited(client_for, users, journal):
    client = client_for("manager")
    for kind, marker in (("csv", "entry_id,date,source"), ("iif", "!TRNS"), ("beancount", "open")):
        before = AuditEvent.objects.count()
        response = client.get(
            reverse("ledger:journal_export", args=[kind]), {"since": "2026-01-01"}
        )
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode()
        assert marker in body
        assert AuditEvent.objects.count() == before + 1
        event = AuditEvent.objects.first()
        assert (event.action, event.object_type, event.actor_id) == (
            "export", f"ledger.journal.{kind}", users["manager"].pk,
        )  # fmt: skip
    assert client.get(reverse("ledger:journal_export", args=["xls"])).status_code == 404
    assert (
        client_for("front_desk").get(reverse("ledger:journal_export", args=["csv"])).status_code
        == 403
    )
