"""Practice setup pages: the practice, locations, providers, staff, modules, authority limits.

Each view checks the input with a form, calls one service, and shows the result; errors
from the service land beside the field they name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from medoffice.core import once, selectors, services
from medoffice.core.access import get_for_user, has_perm
from medoffice.core.exceptions import MedofficeError, NotPermitted
from medoffice.core.forms import (
    AuthorityLimitsForm,
    LocationForm,
    PasswordResetForm,
    PracticeForm,
    ProviderForm,
    UserCreateForm,
    UserProfileForm,
    UserRolesForm,
)
from medoffice.core.http import AuthenticatedHttpRequest
from medoffice.core.models import Location, Provider, User
from medoffice.core.permissions import Perm
from medoffice.core.views import permission_required

T = TypeVar("T")

SETUP_READERS = (Perm.MANAGE_PRACTICE, Perm.MANAGE_USERS, Perm.VIEW_AUDIT)
LIMITS_FORM = "core.authority_limits"  # the one-time token's purpose


def _save_form(request: HttpRequest, form: Any, save: Callable[[dict], T]) -> T | None:
    """Validate the form, then call the service; on a refusal put it on the form and return None."""
    if not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except NotPermitted as exc:
        if exc.field:
            form.add_service_error(exc)
            return None
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        form.add_service_error(exc)
        return None


def _render_form(request, *, title: str, form, back: str, submit: str = "Save", **extra):
    context = {"title": title, "form": form, "back": back, "submit": submit, **extra}
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "core/setup/form.html", context, status=status)


# --- Overview and the practice ---------------------------------------------------------------


@login_required
@permission_required(*SETUP_READERS)
def overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "core/setup/overview.html", selectors.setup_overview())


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_http_methods(["GET", "POST"])
def practice_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    practice = selectors.practice_or_none()
    form = PracticeForm(request.POST if request.method == "POST" else None, instance=practice)
    if request.method == "POST":
        saved = _save_form(
            request, form, lambda data: services.practice_save(actor=request.user, **data)
        )
        if saved is not None:
            messages.success(request, "Practice details saved.")
            return redirect("core:practice")
    return _render_form(request, title="Practice details", form=form, back="core:practice")


# --- Locations ------------------------------------------------------------------------------


@login_required
@permission_required(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def location_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "core/setup/locations.html",
        {
            "locations": selectors.locations_with_counts(),
            "can_edit": has_perm(request.user, Perm.MANAGE_PRACTICE),
        },
    )


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_http_methods(["GET", "POST"])
def location_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    location = get_for_user(Location, request.user, Perm.MANAGE_PRACTICE, pk=pk) if pk else None
    form = LocationForm(request.POST if request.method == "POST" else None, instance=location)
    if request.method == "POST":
        saved = _save_form(
            request,
            form,
            lambda data: services.location_save(actor=request.user, location=location, **data),
        )
        if saved is not None:
            messages.success(request, f"Location {saved} saved.")
            return redirect("core:locations")
    title = f"Location: {location}" if location else "New location"
    return _render_form(request, title=title, form=form, back="core:locations")


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_POST
def location_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    location = get_for_user(Location, request.user, Perm.MANAGE_PRACTICE, pk=pk)
    return _switch_active(
        request, location, lambda active: services.location_set_active(
            actor=request.user, location=location, active=active
        ), label="Location", back="core:locations",
    )  # fmt: skip


def _switch_active(
    request: HttpRequest, record, set_active, *, label: str, back: str
) -> HttpResponse:
    """Deactivate or reactivate a setup record from a list page's button."""
    active = request.POST.get("active") == "1"
    set_active(active)
    messages.success(request, f"{label} {record} {'reactivated' if active else 'deactivated'}.")
    return redirect(back)


# --- Providers ------------------------------------------------------------------------------


@login_required
@permission_required(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def provider_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "core/setup/providers.html",
        {
            "providers": selectors.providers_for_setup(),
            "can_edit": has_perm(request.user, Perm.MANAGE_PRACTICE),
        },
    )


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_http_methods(["GET", "POST"])
def provider_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    provider = get_for_user(Provider, request.user, Perm.MANAGE_PRACTICE, pk=pk) if pk else None
    form = ProviderForm(request.POST if request.method == "POST" else None, instance=provider)
    if request.method == "POST":

        def save(data):
            locations = list(data.pop("locations"))
            return services.provider_save(
                actor=request.user, provider=provider, locations=locations, **data
            )

        saved = _save_form(request, form, save)
        if saved is not None:
            messages.success(request, f"Provider {saved} saved.")
            return redirect("core:providers")
    title = f"Provider: {provider}" if provider else "New provider"
    return _render_form(request, title=title, form=form, back="core:providers")


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_POST
def provider_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    provider = get_for_user(Provider, request.user, Perm.MANAGE_PRACTICE, pk=pk)
    return _switch_active(
        request, provider, lambda active: services.provider_set_active(
            actor=request.user, provider=provider, active=active
        ), label="Provider", back="core:providers",
    )  # fmt: skip


# --- Staff ----------------------------------------------------------------------------------


@login_required
@permission_required(Perm.MANAGE_USERS, Perm.VIEW_AUDIT)
def staff_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "core/setup/staff.html",
        {
            "staff": selectors.staff_for_setup(),
            "can_edit": has_perm(request.user, Perm.MANAGE_USERS),
        },
    )


@login_required
@permission_required(Perm.MANAGE_USERS)
@require_http_methods(["GET", "POST"])
def staff_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":

        def save(data):
            return services.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"],
                role_codes=data["roles"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                title=data["title"],
            )

        created = _save_form(request, form, save)
        if created is not None:
            messages.success(request, f"Account {created.username} created.")
            return redirect("core:staff_detail", pk=created.pk)
    return _render_form(request, title="New staff account", form=form, back="core:staff")


def _staff_page(request, member: User, *, profile=None, roles=None, password=None, status=200):
    context = {
        "member": member,
        "profile_form": profile or UserProfileForm(instance=member),
        "roles_form": roles or UserRolesForm(initial={"roles": selectors.role_codes_of(member)}),
        "password_form": password or PasswordResetForm(is_self=member.pk == request.user.pk),
        "locked": selectors.is_locked_out(member),
        "is_self": member.pk == request.user.pk,
    }
    return render(request, "core/setup/staff_detail.html", context, status=status)


def _member(request: AuthenticatedHttpRequest, pk: int | str) -> User:
    # A staff account is read through the access helper, so the read is in the audit trail.
    return get_for_user(User, request.user, Perm.MANAGE_USERS, pk=pk, record_view=True)


@login_required
@permission_required(Perm.MANAGE_USERS)
@require_http_methods(["GET", "POST"])
def staff_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    member = _member(request, pk)
    if request.method == "GET":
        return _staff_page(request, member)
    form = UserProfileForm(request.POST, instance=member)
    saved = _save_form(
        request, form, lambda data: services.user_update(actor=request.user, user=member, **data)
    )
    if saved is None:
        return _staff_page(request, member, profile=form, status=422)
    messages.success(request, f"{member} saved.")
    return redirect("core:staff_detail", pk=member.pk)


@login_required
@permission_required(Perm.MANAGE_USERS)
@require_POST
def staff_roles(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    member = _member(request, pk)
    form = UserRolesForm(request.POST)
    saved = _save_form(
        request,
        form,
        lambda data: services.user_set_roles(
            actor=request.user, user=member, role_codes=data["roles"]
        ),
    )
    if saved is None:
        return _staff_page(request, member, roles=form, status=422)
    messages.success(request, f"Roles of {member} saved.")
    return redirect("core:staff_detail", pk=member.pk)


@login_required
@permission_required(Perm.MANAGE_USERS)
@require_POST
def staff_password(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    member = _member(request, pk)
    form = PasswordResetForm(request.POST, is_self=member.pk == request.user.pk)
    saved = _save_form(
        request,
        form,
        lambda data: services.user_reset_password(
            actor=request.user,
            user=member,
            password=data["password"],
            current_password=data.get("current_password"),
        ),
    )
    if saved is None:
        return _staff_page(request, member, password=form, status=422)
    if member.pk == request.user.pk:
        from django.contrib.auth import update_session_auth_hash

        # Other sessions ended; this one goes on under a new key and the new password.
        update_session_auth_hash(request, member)
        messages.success(request, "Your password changed; your other sessions and tokens ended.")
        return redirect("core:staff_detail", pk=member.pk)
    messages.success(request, f"Password of {member} reset; their sessions and tokens ended.")
    return redirect("core:staff_detail", pk=member.pk)


_STAFF_ACTIONS = {
    "deactivate": (services.user_deactivate, "deactivated; their sessions and tokens ended"),
    "reactivate": (services.user_reactivate, "reactivated"),
    "unlock": (services.user_unlock, "unlocked"),
}


@login_required
@permission_required(Perm.MANAGE_USERS)
@require_POST
def staff_action(request: AuthenticatedHttpRequest, pk: str, action: str) -> HttpResponse:
    member = _member(request, pk)
    service, done = _STAFF_ACTIONS[action]
    try:
        service(actor=request.user, user=member)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    except MedofficeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member} {done}.")
    return redirect("core:staff_detail", pk=member.pk)


# --- Modules and authority ------------------------------------------------------------------


@login_required
@permission_required(Perm.MANAGE_PRACTICE)
@require_http_methods(["GET", "POST"])
def modules(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        enabled = request.POST.get("enabled") == "1"
        try:
            switch = services.module_set_enabled(
                actor=request.user, module=request.POST.get("module", ""), enabled=enabled
            )
        except MedofficeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"Module {switch.module} switched {'on' if enabled else 'off'}."
            )
        return redirect("core:modules")
    return render(request, "core/setup/modules.html", {"modules": selectors.module_states()})


@login_required
@permission_required(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
@require_http_methods(["GET", "POST"])
def authority_limits(request: AuthenticatedHttpRequest) -> HttpResponse:
    can_edit = has_perm(request.user, Perm.MANAGE_PRACTICE)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied("Only those who manage the practice change authority limits.")
    roles, limits = selectors.authority_table()
    form = AuthorityLimitsForm(
        request.POST if request.method == "POST" else None, roles=roles, limits=limits
    )
    if request.method == "POST":

        def write() -> str:
            saved = services.authority_limits_set(actor=request.user, limits=form.limits())
            messages.success(request, f"Authority limits saved ({len(saved)} changed).")
            return reverse("core:authority_limits")

        spent = _save_form(request, form, lambda _data: once.spend(request, LIMITS_FORM, write))
        if isinstance(spent, once.Spent):
            if spent.replayed:
                messages.info(request, "This form had already been sent: nothing changed again.")
            return redirect(spent.url)
    return render(
        request,
        "core/setup/limits.html",
        {"form": form, "can_edit": can_edit, "form_token": once.current(request, LIMITS_FORM)},
        status=422 if form.is_bound and form.errors else 200,
    )
