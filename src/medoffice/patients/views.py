"""Pages of the patients app: thin — parse the form, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core import audit, once
from medoffice.core.access import has_perm
from medoffice.core.exceptions import (
    InvalidInput,
    MedofficeError,
    NotFound,
    NotPermitted,
    RecordNotPermitted,
)
from medoffice.core.formats import money
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.views import permission_required
from medoffice.patients import forms, record, selectors, services
from medoffice.patients.exceptions import PossibleDuplicate
from medoffice.patients.models import Authorization, Coverage, DocumentKind, Payer
from medoffice.patients.permissions import PatientsPerm


def _form_errors(form, exc: MedofficeError) -> None:
    """Put a service error on the form field it names (or on the form)."""
    errors = getattr(exc, "errors", None) or {exc.field or "__all__": [exc.message]}
    for field, found in errors.items():
        target = field if field in form.fields else None
        for message in found if isinstance(found, list) else [found]:
            if target is None and field != "__all__":
                message = f"{field.replace('_', ' ')}: {message}"
            form.add_error(target, message)


def _after_once(request: HttpRequest, spent: once.Spent) -> HttpResponse:
    """Where a form with a one-time token leads, also when it had been sent before."""
    if spent.replayed:
        messages.info(request, "This form had already been sent: nothing was recorded again.")
    return redirect(spent.url)


def _status(form) -> int:
    """422 when a submitted form has errors (as the API answers), 200 otherwise."""
    return 422 if form.is_bound and form.errors else 200


def _patient(request: AuthenticatedHttpRequest, pk: int, *, record_view: bool = True):
    try:
        if record_view:
            return selectors.patient_for_user(request.user, pk)
        from medoffice.core.access import get_for_user
        from medoffice.patients.models import Patient

        return get_for_user(Patient, request.user, PatientsPerm.VIEW_PATIENTS, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except RecordNotPermitted:
        raise  # the 403 page offers emergency access to this record
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc


CARD_KINDS = (DocumentKind.INSURANCE_CARD_FRONT, DocumentKind.INSURANCE_CARD_BACK)


def _perms(user) -> dict:
    return {
        "can_edit": has_perm(user, PatientsPerm.EDIT_PATIENTS),
        "can_merge": has_perm(user, PatientsPerm.MERGE_PATIENTS),
        "can_manage_payers": has_perm(user, PatientsPerm.MANAGE_PAYERS),
        "can_see_money": has_perm(user, PatientsPerm.VIEW_MONEY),
    }


# --- Search ----------------------------------------------------------------------------------


@login_required
@permission_required(PatientsPerm.VIEW_PATIENTS)
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    include_inactive = request.GET.get("inactive") == "1"
    results = selectors.search_patients(query, include_inactive=include_inactive) if query else []
    if query:
        results = list(results)
        audit.record_list(
            "patients.patient", patient_ids=[p.pk for p in results], description="patient search",
            filters={"q": query, "inactive": include_inactive or ""},
        )  # fmt: skip
    context = {"query": query, "results": results, "include_inactive": include_inactive,
               **_perms(request.user)}  # fmt: skip
    if request.headers.get("HX-Request"):
        return render(request, "patients/_results.html", context)
    return render(request, "patients/search.html", context)


# --- Register and edit -----------------------------------------------------------------------


def _every_error(form: forms.PatientForm) -> None:
    """The form refused some fields: add what the service finds wrong with the others."""
    typed = {
        name: form.cleaned_data.get(name, form.data.get(name)) for name in forms.PATIENT_FORM_FIELDS
    }
    found = services.patient_field_errors(skip=set(form.errors), **typed)
    for field, messages_ in found.items():
        target = field if field in form.fields else None
        for message in messages_:
            form.add_error(target, message)


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def register(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = forms.PatientForm(request.POST or None)
    candidates = []
    if request.method == "POST" and not form.is_valid():
        _every_error(form)
    elif request.method == "POST":
        try:
            patient = services.patient_register(
                actor=request.user,
                confirm_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                **form.service_fields(),
            )
        except PossibleDuplicate as exc:
            candidates = exc.candidates
        except InvalidInput as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Registered {patient.full_name}, MRN {patient.mrn}.")
            return redirect("patients:detail", pk=patient.pk)
    status = 409 if candidates else _status(form)
    context = {"form": form, "candidates": candidates}
    return render(request, "patients/register.html", context, status=status)


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk, record_view=request.method == "GET")
    form = forms.PatientForm(request.POST or None, initial_patient=patient)
    del form.fields["confirm_not_duplicate"]
    if request.method == "POST" and not form.is_valid():
        _every_error(form)
    elif request.method == "POST":
        try:
            services.patient_update(actor=request.user, patient=patient, **form.service_fields())
        except InvalidInput as exc:
            _form_errors(form, exc)
        except MedofficeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:detail", pk=patient.pk)
    context = {"form": form, "patient": patient}
    return render(request, "patients/edit.html", context, status=_status(form))


# --- The record ----------------------------------------------------------------------------


@login_required
def detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # No blanket permission check: the record is read by role or by an emergency grant.
    patient = _patient(request, pk)
    related = selectors.patient_with_related(patient)
    cards = [d for d in related["documents"] if d.kind in CARD_KINDS]
    context = {
        "patient": patient,
        **related,
        **_perms(request.user),
        "end_form": forms.CoverageEndForm(),
        "record_actions": record.actions_for(patient, request.user),
        "record_panels": [
            (panel, render_to_string(panel.template, panel.context, request=request))
            for panel in record.panels_for(patient, request.user)
        ],
        "card_images": cards[:4],
    }
    return render(request, "patients/detail.html", context)


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_POST
def set_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk, record_view=False)
    try:
        services.patient_set_active(
            actor=request.user,
            patient=patient,
            active=request.POST.get("active") == "1",
            reason=request.POST.get("reason", ""),
        )
    except MedofficeError as exc:
        messages.error(request, exc.message)
    return redirect("patients:detail", pk=pk)


# --- Coverages, eligibility, authorizations -------------------------------------------------


def _coverage(request: AuthenticatedHttpRequest, coverage_id: int) -> Coverage:
    coverage = get_object_or_404(Coverage.objects.select_related("payer"), pk=coverage_id)
    _patient(request, coverage.patient_id, record_view=False)
    return coverage


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def coverage_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk, record_view=False)
    form = forms.CoverageForm(request.POST or None)
    purpose = f"patients.coverage_add:{patient.pk}"
    if request.method == "POST" and form.is_valid():

        def write() -> str:
            services.coverage_add(
                actor=request.user,
                patient=patient,
                replace_existing=form.cleaned_data.get("replace_existing", False),
                **form.service_fields(),
            )
            messages.success(request, "Coverage added.")
            return reverse("patients:detail", kwargs={"pk": patient.pk})

        try:
            spent = once.spend(request, purpose, write)
        except MedofficeError as exc:
            _form_errors(form, exc)
        else:
            return _after_once(request, spent)
    context = {"form": form, "patient": patient, "form_token": once.current(request, purpose)}
    return render(request, "patients/coverage_form.html", context, status=_status(form))


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def coverage_edit(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    form = forms.CoverageForm(request.POST or None, instance=coverage)
    if request.method == "POST" and form.is_valid():
        try:
            services.coverage_update(actor=request.user, coverage=coverage, **form.service_fields())
        except MedofficeError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Coverage saved.")
            return redirect("patients:detail", pk=coverage.patient_id)
    return render(
        request,
        "patients/coverage_form.html",
        {"form": form, "patient": coverage.patient, "coverage": coverage},
        status=_status(form),
    )


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_POST
def coverage_end(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    try:
        services.coverage_end(
            actor=request.user, coverage=coverage, end_date=request.POST.get("end_date", "")
        )
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Coverage {coverage.member_id} ended.")
    return redirect("patients:detail", pk=coverage.patient_id)


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_POST
def coverage_copay_from_271(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    """ "Put the 271's copay on the coverage": one click from check-in, chart prep or the
    record; back to the page it came from."""
    coverage = _coverage(request, coverage_id)
    check_id = request.POST.get("check_id", "")
    error = message = ""
    try:
        updated = services.coverage_copay_from_271(
            actor=request.user, coverage=coverage,
            check_id=int(check_id) if check_id.isdigit() else 0,
        )  # fmt: skip
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        error = exc.message
    else:
        message = (
            f"The {coverage.payer.name} coverage's copay is now {money(updated.copay)}, "
            "as the payer's 271 says."
        )
    if request.headers.get("HX-Request"):  # in place: the page's own form keeps what was typed
        return render(
            request, "patients/_copay_taken.html",
            {"coverage": coverage, "message": message, "error": error},
        )  # fmt: skip
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("patients:detail", args=[coverage.patient_id])
    return redirect(target)


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_POST
def coverage_withdraw(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    try:
        services.coverage_withdraw(
            actor=request.user, coverage=coverage, reason=request.POST.get("reason", "")
        )
    except MedofficeError as exc:
        messages.error(request, exc.message)
    return redirect("patients:detail", pk=coverage.patient_id)


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def eligibility_add(request: AuthenticatedHttpRequest, coverage_id: int) -> HttpResponse:
    coverage = _coverage(request, coverage_id)
    form = forms.EligibilityForm(request.POST or None)
    purpose = f"patients.eligibility_add:{coverage.pk}"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def write() -> str:
            services.eligibility_record(
                coverage=coverage,
                checked_by=request.user,
                status=data["status"],
                service_date=data["service_date"] or None,
                reference=data["reference"],
                copay_reported=data["copay_reported"],
                note=data["note"],
            )
            messages.success(request, "Eligibility check recorded.")
            return reverse("patients:detail", kwargs={"pk": coverage.patient_id})

        try:
            spent = once.spend(request, purpose, write)
        except MedofficeError as exc:
            _form_errors(form, exc)
        else:
            return _after_once(request, spent)
    return render(
        request,
        "patients/eligibility_form.html",
        {
            "form": form,
            "coverage": coverage,
            "patient": coverage.patient,
            "history": selectors.eligibility_history(coverage)[:20],
            "form_token": once.current(request, purpose),
        },
        status=_status(form),
    )


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def authorization_form(
    request: AuthenticatedHttpRequest, pk: int, authorization_id: int | None = None
) -> HttpResponse:
    patient = _patient(request, pk, record_view=False)
    authorization = (
        get_object_or_404(Authorization, pk=authorization_id, patient=patient)
        if authorization_id
        else None
    )
    form = forms.AuthorizationForm(request.POST or None, instance=authorization, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.authorization_save(
                actor=request.user,
                patient=patient,
                authorization=authorization,
                **form.service_fields(),
            )
        except MedofficeError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Authorization saved.")
            return redirect("patients:detail", pk=patient.pk)
    return render(
        request,
        "patients/authorization_form.html",
        {"form": form, "patient": patient, "authorization": authorization},
        status=_status(form),
    )


# --- Documents ------------------------------------------------------------------------------


@login_required
@permission_required(PatientsPerm.EDIT_PATIENTS)
@require_http_methods(["GET", "POST"])
def document_upload(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    patient = _patient(request, pk, record_view=False)
    form = forms.DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.document_upload(
                actor=request.user,
                patient=patient,
                kind=data["kind"],
                upload=data["file"],
                document_date=data["document_date"] or None,
                description=data["description"],
            )
        except MedofficeError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Document stored.")
            return redirect("patients:detail", pk=patient.pk)
    context = {"form": form, "patient": patient}
    return render(request, "patients/document_form.html", context, status=_status(form))


@login_required
def document_download(request: AuthenticatedHttpRequest, document_id: int) -> FileResponse:
    """Documents are streamed only through here: permission checked, download audited."""
    try:
        document = selectors.document_for_user(request.user, document_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    services.document_download(user=request.user, document=document)
    extension = document.file.name.rsplit(".", 1)[-1]
    filename = f"{document.patient.mrn}-{document.kind}-{document.document_date:%Y%m%d}.{extension}"
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=request.GET.get("inline") != "1",
        filename=filename,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Payers -----------------------------------------------------------------------------------


@login_required
@permission_required(PatientsPerm.VIEW_PATIENTS, PatientsPerm.MANAGE_PAYERS)
def payers(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "patients/payers.html",
        {"payers": selectors.payers(), **_perms(request.user)},
    )


@login_required
@permission_required(PatientsPerm.MANAGE_PAYERS)
@require_http_methods(["GET", "POST"])
def payer_form(request: AuthenticatedHttpRequest, payer_id: int | None = None) -> HttpResponse:
    payer = get_object_or_404(Payer, pk=payer_id) if payer_id else None
    form = forms.PayerForm(request.POST or None, instance=payer)
    if request.method == "POST" and form.is_valid():
        try:
            services.payer_save(actor=request.user, payer=payer, **form.cleaned_data)
        except MedofficeError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Payer saved.")
            return redirect("patients:payers")
    context = {"form": form, "payer": payer}
    return render(request, "patients/payer_form.html", context, status=_status(form))


# --- Merge ------------------------------------------------------------------------------------


@login_required
@permission_required(PatientsPerm.MERGE_PATIENTS)
@require_http_methods(["GET", "POST"])
def merge(request: AuthenticatedHttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    form = forms.MergeForm(source if source.get("survivor") else None)
    preview = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            preview = selectors.merge_preview(
                user=request.user, survivor_mrn=data["survivor"], duplicate_mrn=data["duplicate"]
            )
            if request.method == "POST":
                if not data["confirm"]:
                    raise InvalidInput(
                        "Tick the box to confirm you compared both records.", field="confirm"
                    )
                summary = services.patient_merge(
                    actor=request.user,
                    survivor=preview.survivor,
                    duplicate=preview.duplicate,
                    reason=data["reason"],
                )
                moved = sum(len(ids) for ids in summary["moved"].values())
                messages.success(
                    request,
                    f"MRN {preview.duplicate.mrn} merged into MRN {preview.survivor.mrn}; "
                    f"{moved} record{'s' if moved != 1 else ''} moved.",
                )
                return redirect("patients:detail", pk=preview.survivor.pk)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except MedofficeError as exc:
            _form_errors(form, exc)
    suspects = [] if form.is_bound else selectors.suspected_duplicates(limit=30)
    return render(
        request,
        "patients/merge.html",
        {
            "form": form,
            "preview": preview,
            "suspects": suspects,
            "merge_url": reverse("patients:merge"),
        },
        status=_status(form) if request.method == "POST" else 200,
    )
