"""Coding's pages: thin; the rules are in services, the reads in selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from medoffice.coding import forms, imports, selectors
from medoffice.coding.permissions import CodingPerm
from medoffice.core.access import has_perm
from medoffice.core.exceptions import MedofficeError
from medoffice.core.views import permission_required

# A clinician picking the codes of their own visits searches codes too (claims' permission,
# named by its code: coding does not import claims).
CODE_OWN = "claims.code_own"
SEARCH_LIMIT = 25


@login_required
@permission_required(CodingPerm.VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "coding/home.html",
        {
            "releases": selectors.latest_releases(),
            "can_import": has_perm(request.user, CodingPerm.IMPORT_CODE_SETS),
        },
    )


@login_required
@permission_required(CodingPerm.VIEW, CODE_OWN)
def codes(request: HttpRequest) -> HttpResponse:
    """Search ICD-10-CM and procedure codes; as one types (htmx), only the results."""
    query = request.GET.get("q", "").strip()[:100]
    which = request.GET.get("set", "all")
    if which not in ("all", "icd10", "procedure"):
        which = "all"
    diagnoses = (
        selectors.icd10_search(query, SEARCH_LIMIT) if query and which != "procedure" else []
    )
    procedures = (
        selectors.procedure_search(query, SEARCH_LIMIT) if query and which != "icd10" else []
    )
    context = {
        "query": query,
        "which": which,
        "diagnoses": diagnoses,
        "procedures": procedures,
        "icd10_release": selectors.ICD10_RELEASE,
    }
    if request.headers.get("HX-Request"):
        return render(request, "coding/_code_results.html", context)
    return render(request, "coding/codes.html", context)


@login_required
@permission_required(CodingPerm.IMPORT_CODE_SETS)
@require_http_methods(["GET", "POST"])
def code_set_import(request: HttpRequest) -> HttpResponse:
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            result = imports.import_file(
                kind=data["kind"],
                data=upload.read(),
                source_name=upload.name or "",
                actor=request.user,  # type: ignore[arg-type]
                label=data["label"],
                effective=data["effective"],
                column_map=data["column_map"],
            )
        except MedofficeError as exc:
            problems = getattr(exc, "problems", None)
            if problems:
                form.add_error("file", "The file was not loaded (nothing was written).")
                for problem in problems:
                    form.add_error("file", problem)
            else:
                name = {"map": "column_map"}.get(exc.field or "", exc.field)
                form.add_error(name if name in form.fields else None, exc.message)
        else:
            what = result.release.get_kind_display() if result.release else result.label
            messages.success(request, f"Loaded {what}: {result}.")
            return redirect("coding:import")
    context = {"form": form, "releases": selectors.recent_releases()}
    return render(request, "coding/import.html", context, status=422 if form.errors else 200)
