"""What the books add to the patient record: a link to the account's statement of activity."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from medoffice.core.access import has_perm
from medoffice.core.modules import is_enabled
from medoffice.ledger.permissions import LedgerPerm
from medoffice.patients.record import RecordAction, register_actions


def _actions(patient: Any, user: Any) -> list[RecordAction]:
    if not is_enabled("ledger") or not has_perm(user, LedgerPerm.VIEW_BOOKS):
        return []
    url = reverse("ledger:patient_statement", args=[patient.pk])
    return [RecordAction("Account statement", url, order=60)]


def register() -> None:
    register_actions(_actions)
