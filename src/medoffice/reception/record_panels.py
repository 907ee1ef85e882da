"""What the front desk adds to the patient record: the account, forms, Check in, Take payment."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from medoffice.core.access import has_any_perm, has_perm
from medoffice.core.modules import is_enabled
from medoffice.patients.permissions import PatientsPerm
from medoffice.patients.record import (
    RecordAction,
    RecordPanel,
    register_actions,
    register_panels,
)
from medoffice.reception import selectors
from medoffice.reception.permissions import ReceptionPerm
from medoffice.scheduling.permissions import SchedulingPerm

RECENT_PAYMENTS = 5


def _panels(patient: Any, user: Any) -> list[RecordPanel]:
    if not is_enabled("reception"):
        return []
    panels = []
    account = reverse("reception:patient_desk", args=[patient.pk])
    if has_perm(user, PatientsPerm.VIEW_MONEY) and has_any_perm(
        user, ReceptionPerm.COLLECT_PAYMENTS, SchedulingPerm.CHECK_IN
    ):
        balance = selectors.patient_balance(patient)
        panels.append(
            RecordPanel(
                key="account",
                title="Account",
                template="reception/_record_account.html",
                context={
                    "balance_words": selectors.balance_text(balance),
                    "payments": list(selectors.payments_of(patient, limit=RECENT_PAYMENTS)),
                },
                order=30,
                link=("The account page", account),
            )
        )
    if has_any_perm(user, SchedulingPerm.CHECK_IN, ReceptionPerm.VIEW_FLOW_BOARD):
        panels.append(
            RecordPanel(
                key="forms",
                title="Forms",
                template="reception/_record_forms.html",
                context={
                    "due": selectors.forms_due(patient),
                    "signed": list(selectors.signed_forms_of(patient)[:10]),
                },
                order=35,
                # Forms are signed on the account page, which needs check-in: the board's
                # readers (assistant, clinician, auditor) see the forms without the link.
                link=("Sign a form", account) if has_perm(user, SchedulingPerm.CHECK_IN) else None,
            )
        )
    return panels


def _actions(patient: Any, user: Any) -> list[RecordAction]:
    if not is_enabled("reception") or not patient.is_active or patient.merged_into_id:
        return []
    actions = []
    if has_perm(user, SchedulingPerm.CHECK_IN):
        today = selectors.todays_appointment_to_check_in(patient)
        if today is not None:
            url = reverse("reception:check_in", args=[today.pk])
            actions.append(RecordAction("Check in", url, order=20, primary=True))
    if has_perm(user, ReceptionPerm.COLLECT_PAYMENTS):
        url = reverse("reception:payment_new", args=[patient.pk])
        actions.append(RecordAction("Take payment", url, order=30))
    return actions


def register() -> None:
    register_panels(_panels)
    register_actions(_actions)
