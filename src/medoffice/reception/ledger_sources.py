"""How the books name the entries the front desk posts: a payment by its receipt number, a
refund by its number, a drawer's close and a deposit by place and day, each with its page.
Registered with the ledger from ReceptionConfig.ready(); one query per kind of source."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from medoffice.core.formats import us_date
from medoffice.ledger.sources import SourceLabel, register
from medoffice.reception.postings import (
    DEPOSIT_SOURCE,
    DRAWER_SOURCE,
    PAYMENT_SOURCE,
    REFUND_SOURCE,
)


def _ids(ids: Sequence[str]) -> list[int]:
    return [int(pk) for pk in ids if pk.isdigit()]


def payments(ids: Sequence[str]) -> dict[str, SourceLabel]:
    from medoffice.reception.models import Payment

    rows = Payment.objects.filter(pk__in=_ids(ids)).values_list("pk", "receipt_number")
    return {
        str(pk): SourceLabel(f"Payment, receipt {number}", reverse("reception:receipt", args=[pk]))
        for pk, number in rows
    }


def refunds(ids: Sequence[str]) -> dict[str, SourceLabel]:
    from medoffice.reception.models import Refund

    return {
        str(pk): SourceLabel(f"Refund R-{pk:06d}", reverse("reception:refund", args=[pk]))
        for pk in Refund.objects.filter(pk__in=_ids(ids)).values_list("pk", flat=True)
    }


def drawer_closes(ids: Sequence[str]) -> dict[str, SourceLabel]:
    from medoffice.reception.models import DrawerClose

    rows = DrawerClose.objects.filter(pk__in=_ids(ids)).values_list("pk", "location__name", "date")
    return {
        str(pk): SourceLabel(f"Drawer close, {place} {us_date(day)}") for pk, place, day in rows
    }


def deposits(ids: Sequence[str]) -> dict[str, SourceLabel]:
    from medoffice.reception.models import Deposit

    rows = Deposit.objects.filter(pk__in=_ids(ids)).values_list("pk", "location__name", "date")
    return {
        str(pk): SourceLabel(
            f"Deposit {pk}, {place} {us_date(day)}", reverse("reception:deposit", args=[pk])
        )
        for pk, place, day in rows
    }


def register_all() -> None:
    register(PAYMENT_SOURCE, payments)
    register(REFUND_SOURCE, refunds)
    register(DRAWER_SOURCE, drawer_closes)
    register(DEPOSIT_SOURCE, deposits)
