"""Pages of the front desk: the flow board, check-in, check-out, payments and chart preparation.

Each view reads its input, calls one service or selector, and renders.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core import audit, once
from medoffice.core.access import has_any_perm, has_perm
from medoffice.core.dates import parse_day
from medoffice.core.exceptions import InvalidInput, MedofficeError, NotFound, NotPermitted
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import AuditAction, Location
from medoffice.core.permissions import Perm
from medoffice.core.views import object_for_page, permission_required, refusal
from medoffice.reception import selectors, services
from medoffice.reception.documents import receipt_pdf
from medoffice.reception.models import FormType, PaymentMethod, Stage
from medoffice.reception.payments import PaymentInput, looks_like_card_number
from medoffice.reception.permissions import ReceptionPerm
from medoffice.scheduling.permissions import SchedulingPerm

PAYMENT_FORM = "reception.payment"  # purposes of the one-time form tokens
CHECK_IN_FORM = "reception.check_in"


def _after(request: HttpRequest, spent: once.Spent) -> HttpResponse:
    """Where a money form leads: its result, also when it had been sent before."""
    if spent.replayed:
        messages.warning(
            request,
            "This form had already been sent: here is what it recorded then, and nothing new "
            "was recorded (changes made before sending it again were not kept). To record "
            "another, open the form again.",
        )
    return redirect(spent.url)


def _redisplayed(post, *names: str) -> dict:
    """The posted form to show again, without anything that looks like a card number."""
    data = post.copy()
    for name in names:
        if looks_like_card_number(data.get(name, "")):
            data[name] = ""
    return data


def _day(value: str | None, default: date) -> date:
    return parse_day(value, field="date", default=default)


def _location(request: HttpRequest, *, strict: bool = True) -> Location | None:
    """The location chosen on the page, else the user's only or first active one. A location
    named that is not an active one is refused, never replaced by another (a drawer closed
    for the wrong desk would be worse than no page)."""
    locations = list(selectors.active_locations())
    chosen = request.GET.get("location") or request.POST.get("location")
    if chosen == "all":
        return None
    for location in locations:
        if str(location.pk) == chosen:
            return location
    if chosen and strict:
        raise InvalidInput(
            "Choose one of the active locations: there is none with that number.",
            field="location",
        )
    return locations[0] if locations else None


def _posted_location(request: HttpRequest) -> Location | None:
    """The location a money form names: one of the active locations, never a stand-in.

    Left empty, it is the page's default; a value that is no active location (a made-up
    number, one switched off since the page was drawn) is refused naming the field, so a
    payment is never filed under a location nobody chose."""
    chosen = (request.POST.get("location") or "").strip()
    if not chosen:
        return _location(request)
    for location in selectors.active_locations():
        if str(location.pk) == chosen:
            return location
    raise InvalidInput(
        "Check the location.", errors={"location": ["Choose one of the active locations."]}
    )


def _appointment_for(request: AuthenticatedHttpRequest, appointment_id: int, perm: str):
    from medoffice.scheduling.models import Appointment

    return object_for_page(
        Appointment.objects.select_related("patient", "provider", "location", "appointment_type"),
        request,
        perm,
        pk=appointment_id,
    )


def _patient_for(request: AuthenticatedHttpRequest, patient_id: int):
    from medoffice.patients.selectors import patient_for_user

    try:
        return patient_for_user(request.user, patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc


def _booking_url(patient) -> str:
    """Scheduling's booking page with the patient chosen, when scheduling offers one."""
    try:
        return reverse("scheduling:book") + "?" + urlencode({"patient": patient.pk})
    except NoReverseMatch:
        return ""


def _patients_url(name: str, patient) -> str:
    try:
        return reverse(name, args=[patient.pk])
    except NoReverseMatch:
        return ""


# --- Flow board ---------------------------------------------------------------------------


def _board_context(request: AuthenticatedHttpRequest, *, error: str = "", notice: str = "") -> dict:
    day = _day(request.GET.get("date") or request.POST.get("date"), selectors.local_today())
    location = _location(request)
    board = selectors.flow_board(day=day, location=location, viewer=request.user)
    audit.record_list(
        "reception.flowboard", patient_ids=[r.appointment.patient_id for r in board.rows],
        description=f"flow board {day.isoformat()}",
        filters={"date": day.isoformat(), "location": location.pk if location else ""},
    )  # fmt: skip
    return {
        "board": board,
        "day": day,
        "today": selectors.local_today(),
        "location": location,
        "locations": selectors.active_locations(),
        "rooms": list(selectors.rooms_for(location)),
        "rooms_in_use": selectors.rooms_in_use(location),
        "can_move": has_any_perm(request.user, SchedulingPerm.CHECK_IN, ReceptionPerm.MOVE_FLOW),
        "can_check_out": has_perm(request.user, SchedulingPerm.CHECK_IN),
        "query": urlencode(
            {"date": day.isoformat(), "location": location.pk if location else "all"}
        ),
        "error": error,
        "notice": notice,
        "Stage": Stage,
    }


@login_required
@permission_required(ReceptionPerm.VIEW_FLOW_BOARD)
def flow_board(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = _board_context(request)
    if request.headers.get("HX-Request") and request.GET.get("partial"):
        return render(request, "reception/_board.html", context)
    return render(request, "reception/flow_board.html", context)


@login_required
@permission_required(SchedulingPerm.CHECK_IN)
def arrivals(request: HttpRequest) -> HttpResponse:
    """Today's arrivals per location (the front desk's home loads it, and refreshes it)."""
    from medoffice.reception.home import arrivals_context

    context = arrivals_context(request.user)
    audit.record_list(
        "reception.arrivals",
        patient_ids=[r.prep.patient.pk for group in context["groups"] for r in group.rows],
        description=f"arrivals {context['day'].isoformat()}",
        filters={"date": context["day"].isoformat()},
    )  # fmt: skip
    if request.headers.get("HX-Request"):
        return render(request, "reception/_home_arrivals.html", context)
    return render(request, "reception/arrivals.html", context)


@login_required
@permission_required(SchedulingPerm.CHECK_IN, ReceptionPerm.MOVE_FLOW)
@require_POST
def flow_advance(request: AuthenticatedHttpRequest, appointment_id: int) -> HttpResponse:
    to_stage = request.POST.get("stage", "")
    error = notice = ""
    room = (request.POST.get("room") or "").strip()
    try:
        if room and not room.isdecimal():
            # A room is chosen from the list by its number; anything else is no room at all.
            raise InvalidInput("Choose a room at this location.", field="room")
        visit = services.flow_advance(
            appointment_id=appointment_id,
            to_stage=to_stage,
            actor=request.user,
            room_id=int(room) if room else None,
        )
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        error = exc.message
    else:
        name = visit.patient.full_name
        notice = f"{name}: {visit.get_stage_display().lower()}" + (
            f" in {visit.room.name}." if to_stage == Stage.ROOMED and visit.room else "."
        )
    if request.headers.get("HX-Request"):
        return render(
            request, "reception/_board.html", _board_context(request, error=error, notice=notice)
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(reverse("reception:flow_board") + "?" + request.POST.get("back", ""))


# --- Check-in -----------------------------------------------------------------------------


def _check_in_input(request: HttpRequest, coverages, form_types) -> dict:
    post = request.POST
    eligibility = []
    for coverage in coverages:
        status = post.get(f"elig_{coverage.pk}", "")
        if status:
            eligibility.append(
                services.EligibilityInput(
                    coverage_id=coverage.pk,
                    status=status,
                    reference=post.get(f"eligref_{coverage.pk}", "").strip(),
                )
            )
    forms = [ft.pk for ft in form_types if post.get(f"form_{ft.pk}")]
    copay = None
    if post.get("copay_amount", "").strip():
        copay = PaymentInput(
            amount=post.get("copay_amount", ""),
            method=post.get("copay_method", ""),
            reference=post.get("copay_reference", ""),
        )
    return {
        "demographics_confirmed": post.get("demographics_confirmed") == "on",
        "coverage_confirmed": post.get("coverage_confirmed") == "on",
        "eligibility": eligibility,
        "forms_signed": forms,
        "copay": copay,
        "notes": post.get("notes", "").strip(),
    }


def _field_errors(errors: dict, eligibility) -> dict[str, str]:
    """Service error keys -> the id of the input they belong to."""
    mapped: dict[str, str] = {}
    for key, messages_ in errors.items():
        parts = key.split(".")
        if parts[0] == "eligibility" and len(parts) > 1 and parts[1].isdigit():
            coverage_id = eligibility[int(parts[1])].coverage_id
            target = f"elig_{coverage_id}"
        elif parts[0] == "copay" and len(parts) > 1:
            target = f"copay_{parts[1]}"
        else:
            target = parts[0]
        mapped[target] = " ".join(messages_)
    return mapped


@login_required
@permission_required(SchedulingPerm.CHECK_IN)
@require_http_methods(["GET", "POST"])
def check_in(request: AuthenticatedHttpRequest, appointment_id: int) -> HttpResponse:
    from medoffice.claims.eligibility_selectors import coverage_eligibility
    from medoffice.patients.selectors import coverages_in_force

    appointment = _appointment_for(request, appointment_id, SchedulingPerm.CHECK_IN)
    patient = appointment.patient
    today = selectors.local_today()
    coverages = list(coverages_in_force(patient, today))
    form_types = selectors.active_form_types()
    due_ids = {due.form_type.pk for due in selectors.forms_due(patient, today)}
    errors: dict[str, str] = {}
    summary = ""
    purpose = f"{CHECK_IN_FORM}:{appointment.pk}"
    if request.method == "POST":
        data = _check_in_input(request, coverages, form_types)

        def write() -> str:
            result = services.check_in(
                appointment_id=appointment.pk, checked_in_by=request.user, **data
            )
            messages.success(request, f"{patient.full_name} is checked in.")
            if result.payment is not None:
                return reverse("reception:receipt", args=[result.payment.pk])
            return (
                reverse("reception:flow_board")
                + "?"
                + urlencode({"location": appointment.location_id})
            )

        try:
            spent = once.spend(request, purpose, write)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            summary = exc.message
            errors = _field_errors(getattr(exc, "errors", {}) or {}, data["eligibility"])
        else:
            return _after(request, spent)
    post = (
        _redisplayed(request.POST, "copay_reference", "notes") if request.method == "POST" else {}
    )
    boxes = coverage_eligibility(coverages, request.user)
    rows = [
        {
            "coverage": c,
            "eligibility": box,
            "status": post.get(f"elig_{c.pk}", ""),
            "reference": post.get(f"eligref_{c.pk}", ""),
            "error": errors.get(f"elig_{c.pk}", ""),
        }
        for c, box in zip(coverages, boxes, strict=True)
    ]
    forms = [
        {"type": ft, "due": ft.pk in due_ids, "checked": bool(post.get(f"form_{ft.pk}"))}
        for ft in form_types
    ]
    # The copay offered: the primary's 271 when it is from today, else the one on file.
    primary = boxes[0].copay if boxes else None
    suggested = None
    if primary is not None:
        suggested = primary.to_collect
    elif coverages:
        suggested = coverages[0].copay
    suggested = suggested if suggested is not None and suggested > 0 else None
    return render(
        request,
        "reception/check_in.html",
        {
            "appointment": appointment,
            "patient": patient,
            "coverages": rows,
            "forms": forms,
            "statuses": [
                ("active", "Active"),
                ("inactive", "Inactive"),
                ("unknown", "Could not confirm"),
            ],
            "balance": selectors.patient_balance(patient),
            "suggested_copay": suggested,
            "primary_copay": primary,
            "methods": PaymentMethod.choices,
            "errors": errors,
            "summary": summary,
            "post": post,
            "can_collect": has_perm(request.user, ReceptionPerm.COLLECT_PAYMENTS),
            "is_today": appointment.start.astimezone(selectors.practice_zone()).date() == today,
            "patient_edit_url": _patients_url("patients:edit", patient),
            "form_token": once.current(request, purpose),
        },
    )


# --- Check-out ----------------------------------------------------------------------------


@login_required
@permission_required(SchedulingPerm.CHECK_IN)
@require_http_methods(["GET", "POST"])
def check_out(request: AuthenticatedHttpRequest, appointment_id: int) -> HttpResponse:
    from medoffice.scheduling.selectors import next_appointment

    appointment = _appointment_for(request, appointment_id, SchedulingPerm.CHECK_IN)
    patient = appointment.patient
    error = ""
    if request.method == "POST":
        try:
            services.check_out(appointment_id=appointment.pk, checked_out_by=request.user)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            error = exc.message
        else:
            messages.success(request, f"{patient.full_name} is checked out.")
            return redirect(
                reverse("reception:flow_board")
                + "?"
                + urlencode({"location": appointment.location_id})
            )
    visit = selectors.visit_of(appointment)
    return render(
        request,
        "reception/check_out.html",
        {
            "appointment": appointment,
            "patient": patient,
            "visit": visit,
            "next_appointment": next_appointment(patient),
            "booking_url": _booking_url(patient),
            "balance": selectors.patient_balance(patient),
            "payments": selectors.payments_of(patient, limit=5),
            "can_collect": has_perm(request.user, ReceptionPerm.COLLECT_PAYMENTS),
            "error": error,
        },
    )


# --- Payments -----------------------------------------------------------------------------


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
@require_http_methods(["GET", "POST"])
def payment_new(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient_for(request, patient_id)
    errors: dict[str, str] = {}
    summary = ""
    status = 200
    purpose = f"{PAYMENT_FORM}:{patient.pk}"
    if request.method == "POST":

        def write() -> str:
            payment = services.payment_record(
                patient=patient,
                payment=PaymentInput(
                    amount=request.POST.get("amount", ""),
                    method=request.POST.get("method", ""),
                    reference=request.POST.get("reference", ""),
                    note=request.POST.get("note", ""),
                ),
                received_by=request.user,
                location=location,
            )
            messages.success(request, f"Payment recorded: receipt {payment.receipt_number}.")
            return reverse("reception:receipt", args=[payment.pk])

        try:
            location = _posted_location(request)
            spent = once.spend(request, purpose, write)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            summary = exc.message
            errors = {k: " ".join(v) for k, v in (getattr(exc, "errors", {}) or {}).items()}
            status = exc.status
        else:
            return _after(request, spent)
    return render(
        request,
        "reception/payment_new.html",
        {
            "patient": patient,
            "balance": selectors.patient_balance(patient),
            "methods": PaymentMethod.choices,
            "locations": selectors.active_locations(),
            "location": _location(request, strict=False),  # the form says what was wrong
            "errors": errors,
            "summary": summary,
            "post": _redisplayed(request.POST, "reference", "note")
            if request.method == "POST"
            else {},
            "form_token": once.current(request, purpose),
        },
        status=status,
    )


def _payment_for(request: AuthenticatedHttpRequest, payment_id: int, *, record_view: bool = True):
    return object_for_page(
        selectors.payment_with_details(payment_id),
        request,
        ReceptionPerm.COLLECT_PAYMENTS,
        pk=payment_id,
        record_view=record_view,
    )


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
def receipt(request: AuthenticatedHttpRequest, payment_id: int) -> HttpResponse:
    payment = _payment_for(request, payment_id)
    return render(
        request,
        "reception/receipt.html",
        {
            "payment": payment,
            "patient": payment.patient,
            "balance": selectors.patient_balance(payment.patient),
            "can_void": selectors.may_void(payment),
        },
    )


@login_required
@permission_required(ReceptionPerm.COLLECT_PAYMENTS)
def receipt_pdf_view(request: AuthenticatedHttpRequest, payment_id: int) -> HttpResponse:
    payment = _payment_for(request, payment_id, record_view=False)  # the download is the event
    content = receipt_pdf(payment, balance=selectors.patient_balance(payment.patient))
    audit.record(AuditAction.DOWNLOAD, obj=payment, reason="receipt PDF")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_number}.pdf"'
    return response


# --- The patient's desk account -----------------------------------------------------------


@login_required
@permission_required(SchedulingPerm.CHECK_IN)
@require_http_methods(["GET", "POST"])
def patient_desk(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    """Balance, payments and forms of one patient; forms can be signed here too."""
    patient = _patient_for(request, patient_id)
    if request.method == "POST":
        form_type = next(
            (
                ft
                for ft in selectors.active_form_types()
                if str(ft.pk) == request.POST.get("form_type")
            ),
            None,
        )
        if form_type is None:
            messages.error(request, "Choose a form.")
        else:
            with refusal() as refused:
                services.form_sign(patient=patient, form_type=form_type, recorded_by=request.user)
                messages.success(request, f"{form_type.name} signed.")
            if refused:
                messages.error(request, refused.message)
        return redirect("reception:patient_desk", patient_id=patient.pk)
    return render(
        request,
        "reception/patient_desk.html",
        {
            "patient": patient,
            "balance": selectors.patient_balance(patient),
            "payments": selectors.payments_of(patient),
            "refunds": list(selectors.refunds_of(patient)),
            "credit": selectors.refundable_credit(patient.pk),
            "activity": selectors.account_activity(patient),
            "forms_due": selectors.forms_due(patient),
            "signed": selectors.signed_forms_of(patient)[:50],
            "can_collect": has_perm(request.user, ReceptionPerm.COLLECT_PAYMENTS),
            "booking_url": _booking_url(patient),
        },
    )


# --- Forms the desk collects -------------------------------------------------------------


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_http_methods(["GET", "POST"])
def form_types(request: AuthenticatedHttpRequest, form_type_id: int | None = None) -> HttpResponse:
    error = ""
    if request.method == "POST":
        existing = None
        if form_type_id is not None:
            existing = FormType.objects.filter(pk=form_type_id).first()
            if existing is None:
                raise Http404("No such form.")
        try:
            saved = services.form_type_save(
                actor=request.user,
                form_type=existing,
                name=request.POST.get("name", "").strip(),
                description=request.POST.get("description", "").strip(),
                renew_every_days=request.POST.get("renew_every_days", "").strip() or None,
                order=request.POST.get("order", "").strip() or 100,
                is_active=request.POST.get("is_active") == "on",
            )
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            error = exc.message
        else:
            messages.success(request, f"{saved.name} saved.")
            return redirect("reception:form_types")
    return render(
        request,
        "reception/form_types.html",
        {"form_types": FormType.objects.all(), "error": error},
    )


# --- Chart preparation --------------------------------------------------------------------


@login_required
@permission_required(SchedulingPerm.CHECK_IN)
def chart_prep(request: AuthenticatedHttpRequest) -> HttpResponse:
    from medoffice.patients.permissions import PatientsPerm

    tomorrow = selectors.local_today() + timedelta(days=1)
    day = _day(request.GET.get("date"), tomorrow)
    location = _location(request)
    try:
        stale_days = max(1, min(int(request.GET.get("stale_days", "")), 365))
    except ValueError:
        stale_days = selectors.ELIGIBILITY_STALE_DAYS
    rows = selectors.chart_prep(day=day, location=location, stale_days=stale_days)
    audit.record_list(
        "reception.chartprep", patient_ids=[row.patient.pk for row in rows],
        description=f"chart preparation {day.isoformat()}",
        filters={"date": day.isoformat(), "location": location.pk if location else ""},
    )  # fmt: skip
    return render(
        request,
        "reception/chart_prep.html",
        {
            "rows": rows,
            "day": day,
            "location": location,
            "locations": selectors.active_locations(),
            "stale_days": stale_days,
            "ready_count": sum(1 for row in rows if row.ready),
            "can_edit_coverages": has_perm(request.user, PatientsPerm.EDIT_PATIENTS),
        },
    )
