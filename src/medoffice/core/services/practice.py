"""Setting up the practice: the practice itself, its locations, its providers, and which
modules are switched on.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from medoffice.core.access import require_perm
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.models import Location, ModuleSwitch, Practice, Provider, User
from medoffice.core.permissions import Perm
from medoffice.core.services._common import _apply, _checked_fields
from medoffice.core.services.validation import field_label, full_clean_or_raise

PRACTICE_FIELDS = (
    "legal_name", "tax_id", "group_npi", "phone", "address_line1", "address_line2", "city",
    "state", "zip_code", "time_zone", "require_two_factor", "is_demo", *Practice.PAY_TO_FIELDS,
)  # fmt: skip
PAY_TO_REQUIRED = ("pay_to_address_line1", "pay_to_city", "pay_to_state", "pay_to_zip_code")
LOCATION_FIELDS = (
    "name", "phone", "place_of_service", "address_line1", "address_line2", "city", "state",
    "zip_code",
)  # fmt: skip
PROVIDER_FIELDS = ("first_name", "last_name", "credentials", "npi", "taxonomy", "specialty")


PROVIDER_USER_ROLES = ("clinician", "owner")


def get_practice() -> Practice:
    practice = Practice.objects.order_by("pk").first()
    if practice is None:
        raise NotFound(
            "The practice has not been set up yet: run `medoffice demo` or the setup page."
        )
    return practice


@transaction.atomic
@binds_actor("actor")
def practice_save(*, actor: User | None, **fields: Any) -> Practice:
    """Create the practice, or update the one this deployment serves.

    A blank tax id keeps the one on file (forms show it masked and do not send it back).
    """
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    fields = _checked_fields(Practice, fields, PRACTICE_FIELDS)
    practice = Practice.objects.select_for_update().order_by("pk").first() or Practice()
    if practice.pk and not fields.get("tax_id", practice.tax_id):
        fields.pop("tax_id", None)
    if "pay_to_state" in fields:
        fields["pay_to_state"] = fields["pay_to_state"].upper()
    _apply(practice, fields)
    _check_pay_to(practice)
    full_clean_or_raise(practice)
    practice.save()
    return practice


def _check_pay_to(practice: Practice) -> None:
    """A pay-to address is given whole (street, city, state and ZIP code) or left blank."""
    given = [name for name in Practice.PAY_TO_FIELDS if getattr(practice, name)]
    missing = [name for name in PAY_TO_REQUIRED if not getattr(practice, name)]
    if given and missing:
        labels = [field_label(Practice, name) for name in missing]
        message = "Give the whole pay-to address, or leave it all blank."
        raise InvalidInput(
            f"{labels[0]}: {message} Missing: {', '.join(labels)}.",
            field=missing[0],
            errors={name: [message] for name in missing},
        )


@transaction.atomic
@binds_actor("actor")
def location_save(
    *, actor: User | None, location: Location | None = None, **fields: Any
) -> Location:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    fields = _checked_fields(Location, fields, LOCATION_FIELDS)
    location = location or Location(practice=get_practice())
    _apply(location, fields)
    duplicate = (
        Location.objects.filter(practice=location.practice, name__iexact=location.name)
        .exclude(pk=location.pk)
        .exists()
    )
    if duplicate:
        raise InvalidInput(
            f"name: there is already a location called {location.name!r}.", field="name"
        )
    full_clean_or_raise(location)
    location.save()
    return location


@transaction.atomic
@binds_actor("actor")
def location_set_active(*, actor: User | None, location: Location, active: bool) -> Location:
    """Deactivate (or bring back) a location; its history and links stay."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    location = Location.objects.select_for_update().get(pk=location.pk)
    if location.is_active != active:
        location.is_active = active
        location.save(update_fields=["is_active"])
    return location


def _check_provider_user(provider: Provider, user: User | None) -> None:
    if user is None:
        return
    if not user.is_active:
        raise InvalidInput(f"user: {user} is deactivated.", field="user")
    if not user.roles.filter(code__in=PROVIDER_USER_ROLES).exists():
        raise InvalidInput(
            f"user: {user} does not hold the clinician role; give them that role first.",
            field="user",
        )
    taken = Provider.objects.filter(user=user).exclude(pk=provider.pk).first()
    if taken is not None:
        raise InvalidInput(f"user: {user} is already linked to {taken}.", field="user")


def _check_provider_locations(provider: Provider, locations: list[Location]) -> None:
    current = set(provider.locations.values_list("pk", flat=True)) if provider.pk else set()
    for location in locations:
        if location.practice_id != provider.practice_id:
            raise InvalidInput(
                f"locations: {location} is not one of the practice's.", field="locations"
            )
        if not location.is_active and location.pk not in current:
            raise InvalidInput(f"locations: {location} is deactivated.", field="locations")


@transaction.atomic
@binds_actor("actor")
def provider_save(
    *,
    actor: User | None,
    provider: Provider | None = None,
    locations: list[Location] | None = None,
    **fields: Any,
) -> Provider:
    """Add or edit a provider: individual NPI, taxonomy, specialty, locations, linked clinician."""
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    link = fields.pop("user", provider.user if provider is not None else None)
    fields = _checked_fields(Provider, fields, PROVIDER_FIELDS)
    provider = provider or Provider(practice=get_practice())
    _apply(provider, fields)
    if link is not None and (link.pk != provider.user_id or provider.pk is None):
        _check_provider_user(provider, link)
    provider.user = link
    if locations is not None:
        _check_provider_locations(provider, locations)
    full_clean_or_raise(provider)
    provider.save()
    if locations is not None:
        provider.locations.set(locations)
    return provider


@transaction.atomic
@binds_actor("actor")
def provider_set_active(*, actor: User | None, provider: Provider, active: bool) -> Provider:
    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    provider = Provider.objects.select_for_update().get(pk=provider.pk)
    if provider.is_active != active:
        provider.is_active = active
        provider.save(update_fields=["is_active"])
    return provider


@transaction.atomic
@binds_actor("actor")
def module_set_enabled(*, actor: User | None, module: str, enabled: bool) -> ModuleSwitch:
    from medoffice.core.modules import all_modules

    if actor is not None:
        require_perm(actor, Perm.MANAGE_PRACTICE)
    known = {m.code: m for m in all_modules()}
    if module not in known:
        raise InvalidInput(f"module: there is no module called {module!r}.", field="module")
    if not known[module].switchable:
        raise InvalidInput(
            f"module: the {known[module].label} module cannot be switched off.", field="module"
        )
    switch, _ = ModuleSwitch.objects.update_or_create(module=module, defaults={"enabled": enabled})
    return switch
