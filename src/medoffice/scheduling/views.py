"""Pages of the scheduling app: calendars, booking, appointment actions, waitlist, setup.

Thin: parse the request, call one selector or service, render. Clinicians who hold only
VIEW_OWN_SCHEDULE see their own column and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core import audit, formats
from medoffice.core.access import has_perm
from medoffice.core.exceptions import MedofficeError
from medoffice.core.models import Location, Provider
from medoffice.core.modules import is_enabled
from medoffice.core.views import permission_required
from medoffice.scheduling import forms, grid, selectors, services
from medoffice.scheduling.availability import federal_holidays, practice_zone, scheduling_settings
from medoffice.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Closure,
    Room,
    ScheduleTemplate,
    TemplateBlock,
    WaitlistEntry,
    WaitlistOffer,
)
from medoffice.scheduling.permissions import SchedulingPerm

VIEW = (SchedulingPerm.VIEW_SCHEDULE, SchedulingPerm.VIEW_OWN_SCHEDULE)


def _day_param(request: HttpRequest, name: str = "date") -> date:
    try:
        return date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return timezone.localdate()


def _int_param(request: HttpRequest, name: str) -> int | None:
    try:
        return int(request.GET.get(name, ""))
    except ValueError:
        return None


def _error_message(request: HttpRequest, exc: MedofficeError) -> None:
    messages.error(request, exc.message)


def _nav_context(request: HttpRequest) -> dict:
    user = request.user
    return {
        "can_book": has_perm(user, SchedulingPerm.BOOK_APPOINTMENTS),
        "can_manage": has_perm(user, SchedulingPerm.MANAGE_SCHEDULING),
        "can_check_in": has_perm(user, SchedulingPerm.CHECK_IN),
        # With the front desk module on, check-in goes through its full check-in
        # (coverage, forms, copay) rather than a bare status change.
        "front_desk_check_in": is_enabled("reception"),
        "sees_all": selectors.can_see_all(user),
    }


# --- Calendars -----------------------------------------------------------------------------


def _calendar_scope(request: HttpRequest):
    """The providers this user may see, and the location / provider asked for."""
    try:
        visible = list(selectors.visible_providers(request.user).order_by("last_name"))
    except MedofficeError as exc:
        raise PermissionDenied(exc.message) from exc
    provider_id = _int_param(request, "provider")
    provider = next((p for p in visible if p.pk == provider_id), None)
    if provider_id and provider is None:
        raise PermissionDenied("You can see only your own schedule.")
    locations = list(Location.objects.filter(is_active=True).order_by("name"))
    location_id = _int_param(request, "location")
    location = next((loc for loc in locations if loc.pk == location_id), None)
    if not selectors.can_see_all(request.user) and provider is None and visible:
        provider = visible[0]  # a clinician's own schedule
    if provider is None and location is None and locations:
        location = locations[0]
    return visible, locations, provider, location


def _grid_patients(calendar: grid.Grid) -> list[int]:
    """Every patient a calendar grid shows, in its cells and in the list under it."""
    ids = [a.patient_id for a in calendar.others]
    for row in calendar.rows:
        ids.extend(
            cell.appointment.patient_id for cell in row.cells
            if cell is not None and cell.appointment is not None
        )  # fmt: skip
    return ids


def _providers_at(location: Location, visible: list[Provider]) -> list[Provider]:
    working = set(
        ScheduleTemplate.objects.filter(location=location, is_active=True).values_list(
            "provider_id", flat=True
        )
    )
    working |= set(location.providers.values_list("pk", flat=True))
    return [p for p in visible if p.pk in working]


def _nav_links(request: HttpRequest, view_name: str, day: date, delta: timedelta) -> dict:
    params = {k: v for k, v in request.GET.items() if k != "date"}

    def link(target: date) -> str:
        return reverse(view_name) + "?" + urlencode({**params, "date": target.isoformat()})

    return {
        "prev_url": link(day - delta),
        "next_url": link(day + delta),
        "today_url": link(timezone.localdate()),
    }


@login_required
@permission_required(*VIEW)
def day(request: HttpRequest) -> HttpResponse:
    visible, locations, provider, location = _calendar_scope(request)
    the_day = _day_param(request)
    if provider is not None:
        calendar = grid.provider_week_grid(the_day, provider, days=1)
        heading = f"{provider}"
    elif location is not None:
        calendar = grid.day_grid(the_day, _providers_at(location, visible), location)
        heading = location.name
    else:
        calendar, heading = None, ""
    if calendar is not None:
        audit.record_list(
            "scheduling.appointment", patient_ids=_grid_patients(calendar),
            description=f"day schedule {the_day.isoformat()} ({heading})",
            filters={"date": the_day.isoformat(), "provider": provider.pk if provider else "",
                     "location": location.pk if location else ""},
        )  # fmt: skip
    context = {
        "view": "day", "day": the_day, "grid": calendar, "heading": heading,
        "visible": visible, "locations": locations, "provider": provider, "location": location,
        **_nav_links(request, "scheduling:day", the_day, timedelta(days=1)),
        **_nav_context(request),
    }  # fmt: skip
    return render(request, "scheduling/calendar.html", context)


@login_required
@permission_required(*VIEW)
def week(request: HttpRequest) -> HttpResponse:
    visible, locations, provider, location = _calendar_scope(request)
    the_day = _day_param(request)
    monday = the_day - timedelta(days=the_day.weekday())
    context = {
        "view": "week", "day": monday, "week_end": monday + timedelta(days=6),
        "visible": visible, "locations": locations, "provider": provider, "location": location,
        **_nav_links(request, "scheduling:week", monday, timedelta(days=7)),
        **_nav_context(request),
    }  # fmt: skip
    if provider is not None:
        context["grid"] = grid.provider_week_grid(monday, provider)
        context["heading"] = str(provider)
        audit.record_list(
            "scheduling.appointment", patient_ids=_grid_patients(context["grid"]),
            description=f"week schedule from {monday.isoformat()} ({provider})",
            filters={"date": monday.isoformat(), "provider": provider.pk},
        )  # fmt: skip
        return render(request, "scheduling/calendar.html", context)
    providers = _providers_at(location, visible) if location else []
    context.update(
        {
            "grid": grid.location_week_grid(monday, providers, location) if location else None,
            "heading": location.name if location else "",
        }
    )
    if location is not None:
        audit.record_list(
            "scheduling.appointment", patient_ids=_grid_patients(context["grid"]),
            description=f"week schedule from {monday.isoformat()} ({location.name})",
            filters={"date": monday.isoformat(), "location": location.pk},
        )  # fmt: skip
    return render(request, "scheduling/week_location.html", context)


# --- One appointment -----------------------------------------------------------------------


def _appointment_or_404(request: HttpRequest, pk: int) -> Appointment:
    try:
        return selectors.appointment_for_user(request.user, pk)
    except MedofficeError as exc:
        raise Http404(exc.message) from exc


@login_required
@permission_required(*VIEW)
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(request, pk)
    now = timezone.now()
    context = {
        "appointment": appointment,
        "no_shows": selectors.no_show_count(appointment.patient_id),
        "cancel_form": forms.CancelForm(),
        "is_booked": appointment.status == AppointmentStatus.BOOKED,
        "started": appointment.start <= now,
        "is_today": appointment.start.astimezone(practice_zone()).date() == timezone.localdate(),
        "in_series": appointment.series_id is not None,
        **_nav_context(request),
    }
    return render(request, "scheduling/appointment.html", context)


def _back_to(appointment: Appointment):
    return redirect("scheduling:appointment", pk=appointment.pk)


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS)
@require_POST
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(request, pk)
    form = forms.CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for cancelling.")
        return _back_to(appointment)
    try:
        done = services.appointment_cancel_in_scope(
            appointment=appointment, reason=form.cleaned_data["reason"],
            cancelled_by=request.user, scope=form.cleaned_data.get("scope") or "one",
        )  # fmt: skip
        if len(done) == 1:
            messages.success(request, "Appointment cancelled; the time is free again.")
        else:
            messages.success(request, f"{len(done)} appointment(s) cancelled.")
    except MedofficeError as exc:
        _error_message(request, exc)
    return _back_to(appointment)


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS, SchedulingPerm.CHECK_IN)
@require_POST
def appointment_no_show(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(request, pk)
    try:
        services.appointment_mark_no_show(appointment=appointment, marked_by=request.user)
        messages.success(request, "Recorded as a no-show.")
    except MedofficeError as exc:
        _error_message(request, exc)
    return _back_to(appointment)


@login_required
@permission_required(SchedulingPerm.CHECK_IN)
@require_POST
def appointment_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(request, pk)
    try:
        services.appointment_check_in(appointment=appointment, checked_in_by=request.user)
        messages.success(request, "Checked in.")
    except MedofficeError as exc:
        _error_message(request, exc)
    return _back_to(appointment)


SLOTS_PER_PAGE = 24


def _after_param(request: HttpRequest) -> datetime | None:
    """The last time of the page before (for "later free times"), when it is a real instant."""
    try:
        after = datetime.fromisoformat(request.GET.get("after", ""))
    except ValueError:
        return None
    return after if timezone.is_aware(after) else None


def _slot_rows(
    kind: AppointmentType, search: dict, *, limit: int = SLOTS_PER_PAGE,
    after: datetime | None = None,
) -> list[dict]:  # fmt: skip
    tz = practice_zone()
    start = None
    if search.get("from_date"):
        start = datetime.combine(search["from_date"], datetime.min.time(), tzinfo=tz)
    if after is not None:
        start = max(start, after + timedelta(minutes=1)) if start else after + timedelta(minutes=1)
    slots = selectors.free_slots(
        kind,
        providers=[search["provider"]] if search.get("provider") else None,
        locations=[search["location"]] if search.get("location") else None,
        start=start,
        limit=limit,
        per_provider_day=6,
    )
    rows = selectors.describe_slots(slots)
    for row in rows:
        slot = row["slot"]
        row["value"] = forms.SlotChoice.encode(
            slot.provider_id, slot.location_id, slot.start, slot.room_id
        )
    return rows


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS)
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(request, pk)
    if request.method == "POST":
        form = forms.RescheduleForm(request.POST)
        if form.is_valid():
            choice = form.cleaned_data["slot"]
            try:
                moved = services.appointment_reschedule(
                    appointment=appointment, start=choice.start, provider=choice.provider,
                    location=choice.location, room=choice.room,
                    scope=form.cleaned_data.get("scope") or "one", rescheduled_by=request.user,
                )  # fmt: skip
            except MedofficeError as exc:
                _error_message(request, exc)
            else:
                messages.success(request, f"Moved {len(moved)} appointment(s).")
                return _back_to(appointment)
        else:
            messages.error(request, "Choose one of the free times.")
    search = forms.SlotSearchForm(
        request.GET or {"appointment_type": appointment.appointment_type_id}
    )
    rows = []
    if search.is_valid():
        rows = _slot_rows(appointment.appointment_type, search.cleaned_data)
    context = {"appointment": appointment, "search": search, "rows": rows, **_nav_context(request)}
    if request.headers.get("HX-Request"):
        return render(request, "scheduling/_slots.html", {**context, "action": "move"})
    return render(request, "scheduling/reschedule.html", context)


# --- Booking -------------------------------------------------------------------------------


def _patient_for(request: HttpRequest, pk) -> object | None:
    from medoffice.patients.selectors import patient_for_user

    if not pk:
        return None
    try:
        return patient_for_user(request.user, pk)
    except MedofficeError:
        return None


def _patient_matches(query: str) -> list[tuple]:
    from medoffice.patients.selectors import search_patients

    found = list(search_patients(query, limit=10)) if len(query) >= 2 else []
    if found or len(query) >= 2:
        audit.record_list(
            "patients.patient", patient_ids=[p.pk for p in found],
            description="patient picker", filters={"q": query},
        )  # fmt: skip
    counts = selectors.no_show_counts([p.pk for p in found])
    return [(patient, counts.get(patient.pk, 0)) for patient in found]


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS)
def patient_options(request: HttpRequest) -> HttpResponse:
    """htmx: patients matching the search text, as radio buttons for the booking form."""
    query = request.GET.get("q", "").strip()
    return render(
        request, "scheduling/_patient_options.html",
        {
            "matches": _patient_matches(query), "query": query,
            "field_name": "patient_id" if request.GET.get("as") == "patient_id" else "patient",
        },
    )  # fmt: skip


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS)
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """Pick the patient, the type and preferences; choose a free time; book (once or repeating)."""
    source = request.POST if request.method == "POST" else request.GET
    patient = _patient_for(request, source.get("patient"))
    search = forms.SlotSearchForm(request.GET if "appointment_type" in request.GET else None)
    form = forms.BookForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = _book_from_form(request, form)
        if result is not None:
            return result
    rows = []
    after = _after_param(request)
    more_url = first_url = ""
    if search.is_bound and search.is_valid():
        rows = _slot_rows(search.cleaned_data["appointment_type"], search.cleaned_data, after=after)
        if len(rows) >= SLOTS_PER_PAGE:
            query = request.GET.copy()
            query["after"] = rows[-1]["slot"].start.isoformat()
            more_url = f"{reverse('scheduling:book')}?{query.urlencode()}"
            query.pop("after")
            first_url = f"{reverse('scheduling:book')}?{query.urlencode()}"
    picked = _picked_slot(request) or _posted_slot(request, form)
    query = request.GET.get("q", "").strip()
    context = {
        "patient": patient, "search": search, "form": form, "rows": rows, "picked": picked,
        "query": query, "matches": _patient_matches(query) if not patient else [],
        "patient_no_shows": selectors.no_show_count(patient) if patient else 0,
        "next_appointment": selectors.next_appointment(patient) if patient else None,
        "more_url": more_url, "first_url": first_url, "after": after,
        "today_iso": timezone.localdate().isoformat(),
        "can_record_past": has_perm(request.user, SchedulingPerm.MANAGE_SCHEDULING),
        **_nav_context(request),
    }  # fmt: skip
    if request.headers.get("HX-Request") and request.method == "GET":
        return render(request, "scheduling/_slots.html", {**context, "action": "book"})
    return render(request, "scheduling/book.html", context)


def _posted_slot(request: HttpRequest, form: forms.BookForm) -> dict | None:
    """After a refused booking, the time that was chosen stays chosen."""
    choice = (
        form.cleaned_data.get("slot") if form.is_bound and hasattr(form, "cleaned_data") else None
    )
    if choice is None:
        return None
    return {
        "provider": choice.provider, "location": choice.location, "start": choice.start,
        "value": request.POST.get("slot", ""),
    }  # fmt: skip


def _picked_slot(request: HttpRequest) -> dict | None:
    """A time chosen on the calendar (a free cell), offered as the first choice."""
    try:
        start = datetime.fromisoformat(request.GET.get("start", ""))
        provider = Provider.objects.get(pk=int(request.GET.get("provider", "")))
        location = Location.objects.get(pk=int(request.GET.get("location", "")))
    except (ValueError, Provider.DoesNotExist, Location.DoesNotExist):
        return None
    if timezone.is_naive(start):
        return None
    return {
        "provider": provider, "location": location, "start": start,
        "value": forms.SlotChoice.encode(provider.pk, location.pk, start, None),
    }  # fmt: skip


def _book_from_form(request: HttpRequest, form: forms.BookForm) -> HttpResponse | None:
    from medoffice.patients.selectors import patient_for_user

    data = form.cleaned_data
    choice = data["slot"]
    try:
        patient = patient_for_user(request.user, data["patient"])
        if data["rule"]:
            _series, booked, skipped = services.series_book(
                patient=patient, provider=choice.provider, location=choice.location,
                appointment_type=data["appointment_type"], first_start=choice.start,
                rrule=data["rule"], booked_by=request.user, policy=data.get("policy") or "all_or_nothing",
                room=choice.room, notes=data.get("notes", ""),
            )  # fmt: skip
            text = f"Booked {len(booked)} appointment(s)."
            if skipped:
                text += f" {len(skipped)} date(s) skipped: " + "; ".join(
                    f"{formats.us_day_time(o.start.astimezone(practice_zone()))} ({o.problem})"
                    for o in skipped[:5]
                )
            messages.success(request, text)
            first = booked[0]
        else:
            allow_past = bool(data.get("record_past")) and has_perm(
                request.user, SchedulingPerm.MANAGE_SCHEDULING
            )
            first = services.appointment_book(
                patient=patient, provider=choice.provider, location=choice.location,
                appointment_type=data["appointment_type"], start=choice.start,
                booked_by=request.user, room=choice.room, notes=data.get("notes", ""),
                allow_past=allow_past,
            )  # fmt: skip
            messages.success(request, "Appointment booked.")
    except MedofficeError as exc:
        form.add_error(None, exc.message)
        return None
    return redirect("scheduling:appointment", pk=first.pk)


# --- Waitlist ------------------------------------------------------------------------------


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS, SchedulingPerm.VIEW_SCHEDULE)
@require_http_methods(["GET", "POST"])
def waitlist(request: HttpRequest) -> HttpResponse:
    from medoffice.patients.selectors import patient_for_user

    form = forms.WaitlistForm(request.POST or None)
    can_book = has_perm(request.user, SchedulingPerm.BOOK_APPOINTMENTS)
    if request.method == "POST":
        if not can_book:
            raise PermissionDenied("Your role does not allow booking.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.waitlist_add(
                    patient=patient_for_user(request.user, data["patient_id"]),
                    appointment_type=data["appointment_type"], provider=data.get("provider"),
                    location=data.get("location"), earliest_date=data["earliest_date"],
                    latest_date=data["latest_date"], priority=data["priority"],
                    notes=data.get("notes", ""), added_by=request.user,
                )  # fmt: skip
            except MedofficeError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "Added to the waitlist.")
                return redirect("scheduling:waitlist")
    context = {
        "form": form, "entries": selectors.waitlist_entries(status=None).exclude(status="removed")[:300],
        "offers": selectors.open_offers(), **_nav_context(request),
    }  # fmt: skip
    return render(request, "scheduling/waitlist.html", context)


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS)
@require_POST
def waitlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(WaitlistEntry, pk=pk)
    try:
        services.waitlist_remove(entry=entry, removed_by=request.user)
        messages.success(request, "Removed from the waitlist.")
    except MedofficeError as exc:
        _error_message(request, exc)
    return redirect("scheduling:waitlist")


@login_required
@permission_required(SchedulingPerm.BOOK_APPOINTMENTS)
@require_POST
def offer_respond(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(WaitlistOffer, pk=pk)
    try:
        if request.POST.get("answer") == "accept":
            appointment = services.waitlist_offer_accept(offer=offer, accepted_by=request.user)
            messages.success(request, "Booked from the waitlist.")
            return redirect("scheduling:appointment", pk=appointment.pk)
        following = services.waitlist_offer_decline(offer=offer, declined_by=request.user)
        messages.success(
            request,
            "Declined; offered to the next patient."
            if following
            else "Declined; nobody else matches.",
        )
    except MedofficeError as exc:
        _error_message(request, exc)
    return redirect("scheduling:waitlist")


# --- Setup (MANAGE_SCHEDULING) ---------------------------------------------------------------


def _form_error(form, exc: MedofficeError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
@permission_required(SchedulingPerm.MANAGE_SCHEDULING)
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    rules = scheduling_settings()
    form = forms.SettingsForm(request.POST or None, instance=rules)
    if request.method == "POST" and form.is_valid():
        try:
            services.scheduling_settings_save(actor=request.user, **form.cleaned_data)
        except MedofficeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Scheduling settings saved.")
            return redirect("scheduling:setup")
    year = timezone.localdate().year
    context = {
        "form": form, "holidays": federal_holidays(year), "year": year,
        "types": AppointmentType.objects.prefetch_related("providers", "rooms").order_by("name"),
        "rooms": Room.objects.select_related("location").order_by("location__name", "name"),
        **_nav_context(request),
    }  # fmt: skip
    return render(request, "scheduling/setup.html", context)


@login_required
@permission_required(SchedulingPerm.MANAGE_SCHEDULING)
@require_http_methods(["GET", "POST"])
def type_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(AppointmentType, pk=pk) if pk else None
    form = forms.AppointmentTypeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        providers, rooms = list(data.pop("providers")), list(data.pop("rooms"))
        try:
            services.appointment_type_save(
                actor=request.user, appointment_type=instance, providers=providers, rooms=rooms,
                **data,
            )  # fmt: skip
        except MedofficeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Appointment type saved.")
            return redirect("scheduling:setup")
    return render(
        request, "scheduling/setup_form.html",
        {"form": form, "title": f"Appointment type: {instance.name}" if instance else "New appointment type",
         **_nav_context(request)},
    )  # fmt: skip


@login_required
@permission_required(SchedulingPerm.MANAGE_SCHEDULING)
@require_http_methods(["GET", "POST"])
def room_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(Room, pk=pk) if pk else None
    form = forms.RoomForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            services.room_save(actor=request.user, room=instance, **form.cleaned_data)
        except MedofficeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Room saved.")
            return redirect("scheduling:setup")
    return render(
        request, "scheduling/setup_form.html",
        {"form": form, "title": f"Room: {instance.name}" if instance else "New room or equipment",
         **_nav_context(request)},
    )  # fmt: skip


@login_required
@permission_required(SchedulingPerm.MANAGE_SCHEDULING)
@require_http_methods(["GET", "POST"])
def templates(request: HttpRequest) -> HttpResponse:
    form = forms.TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.template_save(actor=request.user, **form.cleaned_data)
        except MedofficeError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Template created; add its hours.")
            return redirect("scheduling:template", pk=made.pk)
    found = ScheduleTemplate.objects.select_related("provider", "location").order_by(
        "provider__last_name", "location__name", "-valid_from"
    )
    return render(
        request, "scheduling/setup_templates.html",
        {"form": form, "templates": found, **_nav_context(request)},
    )  # fmt: skip


@login_required
@permission_required(SchedulingPerm.MANAGE_SCHEDULING)
@require_http_methods(["GET", "POST"])
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(
        ScheduleTemplate.objects.select_related("provider", "location"), pk=pk
    )
    edit = forms.TemplateForm(
        request.POST if request.POST.get("form") == "template" else None,
        instance=template, prefix="t",
    )  # fmt: skip
    block_form = forms.BlockForm(request.POST if request.POST.get("form") == "block" else None)
    if request.method == "POST":
        try:
            if request.POST.get("form") == "template" and edit.is_valid():
                services.template_save(actor=request.user, template=template, **edit.cleaned_data)
                messages.success(request, "Template saved.")
                return redirect("scheduling:template", pk=pk)
            if request.POST.get("form") == "block" and block_form.is_valid():
                data = block_form.cleaned_data
                for weekday in data["weekdays"]:
                    services.template_block_add(
                        actor=request.user, template=template, weekday=weekday,
                        start_time=data["start_time"], end_time=data["end_time"], kind=data["kind"],
                        appointment_types=list(data["appointment_types"]), note=data["note"],
                    )  # fmt: skip
                messages.success(request, "Hours added.")
                return redirect("scheduling:template", pk=pk)
            if request.POST.get("remove_block"):
                block = get_object_or_404(
                    TemplateBlock, pk=request.POST["remove_block"], template=template
                )
                services.template_block_remove(actor=request.user, block=block)
                messages.success(request, "Removed.")
                return redirect("scheduling:template", pk=pk)
        except MedofficeError as exc:
            _form_error(block_form if request.POST.get("form") == "block" else edit, exc)
    blocks = template.blocks.prefetch_related("appointment_types").order_by("weekday", "start_time")
    return render(
        request, "scheduling/setup_template.html",
        {"template": template, "edit": edit, "block_form": block_form, "blocks": blocks,
         **_nav_context(request)},
    )  # fmt: skip


@login_required
@permission_required(SchedulingPerm.MANAGE_SCHEDULING)
@require_http_methods(["GET", "POST"])
def closures(request: HttpRequest) -> HttpResponse:
    form = forms.ClosureForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("delete"):
            closure = get_object_or_404(Closure, pk=request.POST["delete"])
            services.closure_delete(actor=request.user, closure=closure)
            messages.success(request, "Closure removed.")
            return redirect("scheduling:closures")
        if form.is_valid():
            try:
                made = services.closure_save(actor=request.user, **form.cleaned_data)
            except MedofficeError as exc:
                _form_error(form, exc)
            else:
                affected = selectors.appointments_in_closure(made).count()
                text = "Closure saved."
                if affected:
                    text += f" {affected} booked appointment(s) fall in it: call those patients."
                    messages.warning(request, text)
                else:
                    messages.success(request, text)
                return redirect("scheduling:closures")
    upcoming = Closure.objects.select_related("location", "provider").filter(
        end_date__gte=timezone.localdate() - timedelta(days=30)
    )
    rows = [(c, selectors.appointments_in_closure(c)) for c in upcoming[:100]]
    return render(
        request, "scheduling/setup_closures.html",
        {"form": form, "rows": rows, **_nav_context(request)},
    )  # fmt: skip
