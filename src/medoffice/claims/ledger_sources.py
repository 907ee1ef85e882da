"""How the books name the entries of encounters: "Encounter 12 of 03/14/2026", with its page.
Registered with the ledger from ClaimsConfig.ready(); one query per page of lines."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from medoffice.claims.charges import ENCOUNTER_SOURCE, OWNING_ACTION
from medoffice.core.formats import us_date
from medoffice.ledger.services import OWNING_ACTION as LEDGER_OWNING_ACTION
from medoffice.ledger.sources import SourceLabel, register


def encounters(ids: Sequence[str]) -> dict[str, SourceLabel]:
    from medoffice.claims.models import Encounter

    numbers = [int(pk) for pk in ids if pk.isdigit()]
    rows = Encounter.objects.filter(pk__in=numbers).values_list("pk", "date_of_service")
    return {
        str(pk): SourceLabel(
            f"Encounter {pk} of {us_date(day)}", reverse("claims:encounter", args=[pk])
        )
        for pk, day in rows
    }


def register_all() -> None:
    register(ENCOUNTER_SOURCE, encounters)
    LEDGER_OWNING_ACTION.setdefault(ENCOUNTER_SOURCE, OWNING_ACTION)
