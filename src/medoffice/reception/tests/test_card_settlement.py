"""The card processor's payment of closed days' card batches: what reached the bank, the fees
as the difference, card clearing emptied; each batch settled once; bad input refused in
words with nothing written."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from medoffice.core.exceptions import Conflict, InvalidInput, NotPermitted
from medoffice.ledger.models import JournalEntry, JournalLine
from medoffice.reception import selectors, services
from medoffice.reception.models import CardSettlement, CardSettlementDay
from medoffice.reception.payments import PaymentInput
from medoffice.testing import factories
from medoffice.testing import patients_factories as pf

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(practice, users):
    location = factories.location(name="Main St")
    factories.location(name="North")
    return location


def closed_card_day(desk, user, days_ago: int, card: str, counted: str | None = None):
    when = timezone.now() - timedelta(days=days_ago)
    services.payment_record(
        patient=pf.patient(),
        payment=PaymentInput(amount=card, method="card", reference="AB1"),
        received_by=user, location=desk, now=when,
    )  # fmt: skip
    return services.drawer_close(
        location=desk, day=selectors.local_today(when), counted_cash="0", counted_checks="0",
        counted_card=counted or card, closed_by=user,
    )  # fmt: skip


def net_of(key: str) -> int:
    return sum(JournalLine.objects.filter(account__key=key).values_list("amount_cents", flat=True))


def written() -> tuple[int, int, int]:
    return (
        CardSettlement.objects.count(),
        CardSettlementDay.objects.count(),
        JournalEntry.objects.filter(source_type="reception.cardsettlement").count(),
    )


def test_the_processors_payment_clears_the_batches_to_the_bank_less_fees(desk, users):
    user = users["front_desk"]
    first = closed_card_day(desk, user, 3, "100.00")
    second = closed_card_day(desk, user, 2, "50.00")
    assert net_of("card_clearing") == 15000
    assert [c.pk for c in selectors.closes_to_settle(desk)] == [first.pk, second.pk]
    settlement = services.card_settlement_record(
        location=desk, close_ids=[first.pk, second.pk], net="145.50", reference="PRC-88",
        made_by=users["manager"],
    )  # fmt: skip
    assert (settlement.gross, settlement.fees, settlement.net) == (
        Decimal("150.00"), Decimal("4.50"), Decimal("145.50"),
    )  # fmt: skip
    entry = JournalEntry.objects.get(source_key=f"reception.cardsettlement:{settlement.pk}")
    assert sorted((line.account.key, line.amount_cents) for line in entry.lines.all()) == [
        ("bank_operating", 14550), ("card_clearing", -15000), ("card_fees", 450),
    ]  # fmt: skip
    assert net_of("card_clearing") == 0
    assert not selectors.closes_to_settle(desk).exists()


def test_a_batch_is_settled_once(desk, users):
    close = closed_card_day(desk, users["front_desk"], 1, "40.00")
    services.card_settlement_record(
        location=desk, close_ids=[close.pk], net="40.00", made_by=users["manager"]
    )
    before = written()
    with pytest.raises(Conflict, match="in card settlement"):
        services.card_settlement_record(
            location=desk, close_ids=[close.pk], net="40.00", made_by=users["manager"]
        )
    assert written() == before


@pytest.mark.parametrize(
    ("net", "field", "words"),
    [
        ("", "net", "Type the amount"),
        ("-1", "net", "Amount paid into the bank must not be negative."),
        ("abc", "net", "Amount paid into the bank must be in dollars and cents"),
        ("60.01", "net", "more than the batches chosen ($60.00)"),
        ("0", "net", "a settlement of $0.00 would make the whole batch fees"),
        ("50.00", "net", "$10.00 in fees is more than a tenth of the batches ($60.00)"),
    ],
)
def test_bad_amounts_are_refused_naming_the_field(desk, users, net, field, words):
    close = closed_card_day(desk, users["front_desk"], 1, "60.00")
    before = written()
    with pytest.raises(InvalidInput, match=re.escape(words)) as caught:
        services.card_settlement_record(
            location=desk, close_ids=[close.pk], net=net, made_by=users["manager"]
        )
    assert caught.value.field == field or field in caught.value.errors
    assert written() == before


def test_days_of_another_location_none_chosen_or_without_cards_are_refused(desk, users):
    other = factories.location(name="Elsewhere")
    theirs = closed_card_day(other, users["front_desk"], 1, "20.00")
    with pytest.raises(InvalidInput, match="of Main St only"):
        services.card_settlement_record(
            location=desk, close_ids=[theirs.pk], net="20", made_by=users["manager"]
        )
    with pytest.raises(InvalidInput, match="Choose the closed days"):
        services.card_settlement_record(
            location=desk, close_ids=[], net="20", made_by=users["manager"]
        )
    cash_only = services.drawer_close(
        location=desk, day=selectors.local_today(), counted_cash="0", counted_checks="0",
        counted_card="0", closed_by=users["front_desk"],
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="no card batch"):
        services.card_settlement_record(
            location=desk, close_ids=[cash_only.pk], net="1", made_by=users["manager"]
        )
    assert written() == (0, 0, 0)


def test_a_settlement_dated_before_its_days_or_in_the_future_is_refused(desk, users):
    close = closed_card_day(desk, users["front_desk"], 1, "20.00")
    today = selectors.local_today()
    with pytest.raises(InvalidInput, match="before the days"):
        services.card_settlement_record(
            location=desk, close_ids=[close.pk], net="20", made_by=users["manager"],
            day=today - timedelta(days=5),
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="has not come yet"):
        services.card_settlement_record(
            location=desk, close_ids=[close.pk], net="20", made_by=users["manager"],
            day=today + timedelta(days=1),
        )  # fmt: skip


def test_settling_needs_the_drawer_permission(desk, users):
    close = closed_card_day(desk, users["front_desk"], 1, "20.00")
    with pytest.raises(NotPermitted):
        services.card_settlement_record(
            location=desk, close_ids=[close.pk], net="20", made_by=users["clinician"]
        )


def test_the_deposits_page_settles_a_batch_and_shows_errors_in_words(client_for, desk, users):
    close = closed_card_day(desk, users["front_desk"], 1, "80.00")
    page = client_for("manager")
    shown = page.get("/reception/deposits/", {"location": desk.pk}).content.decode()
    assert "Card batches the processor has not paid yet" in shown and "$80.00" in shown
    refused = page.post(
        "/reception/deposits/",
        {"location": desk.pk, "action": "settle", "close": [close.pk], "net": "90"},
    ).content.decode()
    assert "more than the batches chosen" in refused and 'role="alert"' in refused
    assert written() == (0, 0, 0)
    done = page.post(
        "/reception/deposits/",
        {"location": desk.pk, "action": "settle", "close": [close.pk], "net": "77.60",
         "reference": "PRC-1"},
        follow=True,
    ).content.decode()  # fmt: skip
    assert "$2.40 in fees" in done and "Every card batch is settled." in done
    assert CardSettlement.objects.get().reference == "PRC-1"


def test_the_deposits_page_says_a_bad_amount_in_one_sentence(client_for, desk, users):
    close = closed_card_day(desk, users["front_desk"], 1, "80.00")
    refused = client_for("manager").post(
        "/reception/deposits/",
        {"location": desk.pk, "action": "settle", "close": [close.pk], "net": "-1"},
    )
    shown = refused.content.decode()
    assert "Amount paid into the bank must not be negative." in shown
    assert "bank:" not in shown
    assert written() == (0, 0, 0)


@pytest.mark.parametrize(("card", "net"), [("0.95", "0.93"), ("0.57", "0.56"), ("0.60", "0.56")])
def test_cents_that_binary_floats_cannot_add_are_settled(desk, users, card, net):
    """The database's own check (gross = net + fees) holds for amounts that do not add up as
    binary floats, as SQLite adds decimals (0.93 + 0.02 is 0.9500000000000001 there)."""
    close = closed_card_day(desk, users["front_desk"], 1, card)
    settlement = services.card_settlement_record(
        location=desk, close_ids=[close.pk], net=net, reference="ACH-77", made_by=users["manager"],
    )  # fmt: skip
    settlement.refresh_from_db()
    assert settlement.gross == Decimal(card)
    assert settlement.net + settlement.fees == Decimal(card)
