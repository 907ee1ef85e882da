"""The copay on file next to a different copay from the payer's latest 271: check-in and chart
prep say so plainly, check-in offers the 271's copay when the 271 is from today (and says so),
and one click puts the 271's copay on the coverage (permission checked, audited)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from medoffice.claims import eligibility, eligibility_requests
from medoffice.claims.tests.eligibility_support import answer_271
from medoffice.claims.tests.mailbox_support import folder_clearinghouse
from medoffice.core.access import has_perm
from medoffice.core.formats import us_date
from medoffice.core.models import AuditEvent
from medoffice.patients.models import Coverage, EligibilityCheck
from medoffice.patients.permissions import PatientsPerm
from medoffice.reception.selectors import local_today

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(desk_day, users, tmp_path):
    """The coverage says $25.00; the payer's 271, in today, says $35.00."""
    folder_clearinghouse(tmp_path / "mailbox", users["manager"])
    made = eligibility_requests.request_eligibility(
        desk_day.coverage, users["front_desk"], idempotency_key="ask-1"
    )
    eligibility.apply_271(answer_271(desk_day.coverage, made.trace_number), users["biller"])
    check = EligibilityCheck.objects.get(coverage=desk_day.coverage)
    assert check.copay_reported == Decimal("35.00") and desk_day.coverage.copay == Decimal("25")
    return check


def _check_in(desk_day) -> str:
    return reverse("reception:check_in", args=[desk_day.appointment.pk])


def _take(desk_day) -> str:
    return reverse("patients:coverage_copay_from_271", args=[desk_day.coverage.pk])


def test_check_in_says_the_copays_differ_and_collects_todays_271s(desk_day, answered, client_for):
    html = unescape(client_for("front_desk").get(_check_in(desk_day)).content.decode())
    today = us_date(local_today())
    assert (
        f"The payer's 271 of {today} says copay $35.00; the coverage on file says $25.00." in html
    )
    assert "Check-in collects the 271's copay, $35.00: the 271 is from today." in html
    assert "copay to collect: $35.00, from the payer's 271 of today" in html
    assert 'id="id_copay_amount" name="copay_amount" inputmode="decimal" value="35.00"' in html
    assert (
        f'formaction="{_take(desk_day)}" formnovalidate name="check_id" value="{answered.pk}"'
    ) in html
    # By htmx, with only the check's id: the check-in form around it is not sent, nor reloaded.
    assert (
        f'hx-post="{_take(desk_day)}" hx-vals=\'{{"check_id": "{answered.pk}"}}\' '
        f'hx-params="check_id" hx-target="#copay-differs-{desk_day.coverage.pk}" '
        'hx-swap="outerHTML">Put the 271\'s copay ($35.00) on the coverage</button>'
    ) in html


def test_by_htmx_the_copay_is_taken_in_place(desk_day, answered, client_for):
    desk = client_for("front_desk")
    answer = desk.post(_take(desk_day), {"check_id": answered.pk}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    html = unescape(answer.content.decode())
    assert f'id="copay-differs-{desk_day.coverage.pk}"' in html and "<html" not in html
    assert "copay is now $35.00, as the payer's 271 says" in html
    assert Coverage.objects.get(pk=desk_day.coverage.pk).copay == Decimal("35.00")
    again = desk.post(_take(desk_day), {"check_id": "x"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and 'role="alert"' in again.content.decode()
    assert "copay is now" not in again.content.decode()


def test_an_older_271_is_named_but_check_in_collects_the_copay_on_file(
    desk_day, answered, client_for
):
    earlier = answered.checked_at - timedelta(days=3)
    EligibilityCheck.objects.filter(pk=answered.pk).update(checked_at=earlier)
    html = unescape(client_for("front_desk").get(_check_in(desk_day)).content.decode())
    assert (
        f"The payer's 271 of {us_date(earlier)} says copay $35.00; the coverage on file says "
        "$25.00." in html
    )
    assert (
        "Check-in collects the copay on file, $25.00: the 271 is not from the day of the visit"
        in html
    )
    assert 'id="id_copay_amount" name="copay_amount" inputmode="decimal" value="25.00"' in html


def test_one_click_puts_the_271s_copay_on_the_coverage_audited(
    desk_day, answered, users, client_for
):
    desk = client_for("front_desk")
    page = _check_in(desk_day)
    answer = desk.post(_take(desk_day), {"check_id": answered.pk}, HTTP_REFERER=page)
    assert answer.status_code == 302 and answer["Location"] == page
    assert Coverage.objects.get(pk=desk_day.coverage.pk).copay == Decimal("35.00")
    event = AuditEvent.objects.filter(
        object_type="patients.coverage", object_id=str(desk_day.coverage.pk),
        reason__startswith="Copay taken from the payer's 271 of",
    ).get()  # fmt: skip
    assert event.actor_id == users["front_desk"].pk
    assert event.changes["copay"] == ["25.00", "35.00"]
    html = unescape(desk.get(page).content.decode())
    assert "copay is now $35.00, as the payer's 271 says" in html
    assert "copays differ" not in html and "the coverage on file says" not in html
    assert 'id="id_copay_amount" name="copay_amount" inputmode="decimal" value="35.00"' in html
    # Again: nothing more to change, nothing more audited.
    desk.post(_take(desk_day), {"check_id": answered.pk}, HTTP_REFERER=page)
    assert AuditEvent.objects.filter(reason__startswith="Copay taken from").count() == 1


def test_without_the_permission_nothing_changes(desk_day, answered, users, client, client_for):
    role = next(r for r in ("auditor", "clinician", "medical_assistant")
                if not has_perm(users[r], PatientsPerm.EDIT_PATIENTS))  # fmt: skip
    assert client_for(role).post(_take(desk_day), {"check_id": answered.pk}).status_code == 403
    assert client.post(_take(desk_day), {"check_id": answered.pk}).status_code == 302  # sign in
    assert Coverage.objects.get(pk=desk_day.coverage.pk).copay == Decimal("25.00")
    assert not AuditEvent.objects.filter(reason__startswith="Copay taken from").exists()


def test_only_the_latest_271_with_a_copay_can_be_taken(desk_day, answered, users, client_for):
    from medoffice.patients import services

    desk = client_for("front_desk")
    later = services.eligibility_record(
        coverage=desk_day.coverage, status="active", checked_by=users["front_desk"],
        reference="call 1",
    )  # fmt: skip
    page = _check_in(desk_day)
    refused = desk.post(_take(desk_day), {"check_id": answered.pk}, HTTP_REFERER=page)
    assert refused.status_code == 302
    assert "A newer eligibility check is on file" in unescape(desk.get(page).content.decode())
    desk.post(_take(desk_day), {"check_id": later.pk}, HTTP_REFERER=page)
    assert "not a payer's 271 that gave a copay" in unescape(desk.get(page).content.decode())
    assert Coverage.objects.get(pk=desk_day.coverage.pk).copay == Decimal("25.00")


def test_chart_prep_says_the_copays_differ_with_the_button(desk_day, answered, client_for):
    day = local_today()
    url = reverse("reception:chart_prep") + f"?date={day.isoformat()}"
    html = unescape(client_for("front_desk").get(url).content.decode())
    assert (
        f"The payer's 271 of {us_date(day)} says copay $35.00; the coverage on file says $25.00."
        in html
    )
    assert "Check-in collects the 271's copay, $35.00: the 271 is from today." in html
    assert f'<form method="post" action="{_take(desk_day)}"' in html
    assert f'<input type="hidden" name="check_id" value="{answered.pk}">' in html
    # Tomorrow's chart prep: today's 271 is not from the visit's day.
    tomorrow = reverse("reception:chart_prep") + f"?date={(day + timedelta(days=1)).isoformat()}"
    assert "collects the 271" not in client_for("front_desk").get(tomorrow).content.decode()
