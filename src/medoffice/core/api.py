"""JSON API of the foundation: who am I, the practice, locations, providers, users, approvals,
the audit trail (read and export only) and module switches. Same permissions as the pages."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.http import StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status

from medoffice.core import selectors, services
from medoffice.core.access import get_for_user, permissions_of
from medoffice.core.api_auth import requires, user_of
from medoffice.core.dates import Day
from medoffice.core.exceptions import InvalidInput, NotFound
from medoffice.core.exports import audit_csv
from medoffice.core.idempotency import honour_keys, idempotent
from medoffice.core.models import (
    ApprovalRequest,
    DecisionKind,
    Location,
    Provider,
    User,
)
from medoffice.core.money import ZERO, Money, MoneyRange
from medoffice.core.permissions import Perm

SETUP_READERS = (Perm.MANAGE_PRACTICE, Perm.MANAGE_USERS, Perm.VIEW_AUDIT)

me_router = Router(tags=["me"])
practice_router = Router(tags=["practice"])
locations_router = Router(tags=["locations"])
providers_router = Router(tags=["providers"])
users_router = Router(tags=["users"])
approvals_router = Router(tags=["approvals"])
audit_router = Router(tags=["audit"])
modules_router = Router(tags=["modules"])
for _money_router in (practice_router, approvals_router):  # their money writes take a key
    _money_router.add_decorator(honour_keys, mode="view")


def _one(model, pk: int):
    """One setup record (not PHI: the caller's permission was checked by `requires`)."""
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No {model._meta.verbose_name} with id {pk}.")
    return found


def _provided(payload: Schema) -> dict:
    """Only the fields the caller sent (PATCH semantics)."""
    return payload.model_dump(exclude_unset=True)


# --- Who am I -----------------------------------------------------------------------------------


class RoleOut(Schema):
    code: str
    name: str


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    email: str
    roles: list[RoleOut]
    permissions: list[str]
    two_factor_verified: bool


@me_router.get("", response=MeOut, summary="Who am I: roles and permissions")
def me(request):
    user = user_of(request)
    is_verified = getattr(user, "is_verified", None)
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": user.get_full_name(),
        "email": user.email,
        "roles": [{"code": r.code, "name": r.name} for r in user.roles.order_by("name")],
        "permissions": sorted(permissions_of(user)),
        "two_factor_verified": bool(is_verified and is_verified()),
    }


# --- The practice ------------------------------------------------------------------------------


class PracticeOut(Schema):
    legal_name: str
    tax_id_masked: str
    group_npi: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip_code: str
    pay_to_address_line1: str
    pay_to_address_line2: str
    pay_to_city: str
    pay_to_state: str
    pay_to_zip_code: str
    time_zone: str
    require_two_factor: bool


class PracticePatch(Schema):
    legal_name: str | None = Field(None, max_length=200)
    tax_id: str | None = Field(None, max_length=10, description="12-3456789; never returned")
    group_npi: str | None = Field(None, max_length=10)
    phone: str | None = Field(None, max_length=32)
    address_line1: str | None = Field(None, max_length=120)
    address_line2: str | None = Field(None, max_length=120)
    city: str | None = Field(None, max_length=80)
    state: str | None = Field(None, max_length=2)
    zip_code: str | None = Field(None, max_length=10)
    pay_to_address_line1: str | None = Field(
        None, max_length=120, description="where payers send payments, when not the address"
    )
    pay_to_address_line2: str | None = Field(None, max_length=120)
    pay_to_city: str | None = Field(None, max_length=80)
    pay_to_state: str | None = Field(None, max_length=2)
    pay_to_zip_code: str | None = Field(None, max_length=10)
    time_zone: str | None = None
    require_two_factor: bool | None = None


class LimitIn(Schema):
    role: str
    kind: str
    amount: Annotated[Decimal, MoneyRange(minimum=ZERO)] | None = Field(
        None, description='null: no limit; "0": no authority; otherwise dollars, e.g. "500.00"'
    )


class LimitOut(Schema):
    role: str
    kind: str
    amount: Decimal | None


@practice_router.get("", response=PracticeOut, summary="The practice (tax id masked)")
@requires(*SETUP_READERS)
def practice_read(request):
    return services.get_practice()


@practice_router.patch("", response=PracticeOut, summary="Update the practice")
@requires(Perm.MANAGE_PRACTICE)
def practice_update(request, payload: PracticePatch):
    fields = {key: value for key, value in _provided(payload).items() if value is not None}
    return services.practice_save(actor=user_of(request), **fields)


@practice_router.get("/limits", response=list[LimitOut], summary="Authority limits per role")
@requires(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def limits_read(request):
    roles, limits = selectors.authority_table()
    return [
        {"role": role.code, "kind": kind, "amount": limits.get((role.code, kind), Decimal("0"))}
        for role in roles
        for kind in DecisionKind.values
    ]


@practice_router.put("/limits", response=list[LimitOut], summary="Set authority limits")
@requires(Perm.MANAGE_PRACTICE)
@idempotent
def limits_set(request, payload: list[LimitIn]):
    limits = {(item.role, item.kind): item.amount for item in payload}
    services.authority_limits_set(actor=user_of(request), limits=limits)
    return limits_read(request)


# --- Locations -----------------------------------------------------------------------------------


class LocationOut(Schema):
    id: int
    name: str
    phone: str
    place_of_service: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    zip_code: str
    is_active: bool


class LocationIn(Schema):
    name: str = Field(..., max_length=120)
    phone: str = Field("", max_length=32)
    place_of_service: str = Field("11", max_length=2)
    address_line1: str = Field(..., max_length=120)
    address_line2: str = Field("", max_length=120)
    city: str = Field(..., max_length=80)
    state: str = Field(..., max_length=2)
    zip_code: str = Field(..., max_length=10)


class LocationPatch(Schema):
    name: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=32)
    place_of_service: str | None = Field(None, max_length=2)
    address_line1: str | None = Field(None, max_length=120)
    address_line2: str | None = Field(None, max_length=120)
    city: str | None = Field(None, max_length=80)
    state: str | None = Field(None, max_length=2)
    zip_code: str | None = Field(None, max_length=10)
    is_active: bool | None = None


@locations_router.get("", response=list[LocationOut], summary="Locations")
@requires(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def location_list(request):
    return selectors.locations_with_counts()


@locations_router.post("", response={201: LocationOut}, summary="Add a location")
@requires(Perm.MANAGE_PRACTICE)
def location_create(request, payload: LocationIn):
    return Status(201, services.location_save(actor=user_of(request), **payload.model_dump()))


@locations_router.get("/{int:location_id}", response=LocationOut, summary="One location")
@requires(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def location_read(request, location_id: int):
    return _one(Location, location_id)


@locations_router.patch("/{int:location_id}", response=LocationOut, summary="Edit a location")
@requires(Perm.MANAGE_PRACTICE)
def location_update(request, location_id: int, payload: LocationPatch):
    actor = user_of(request)
    location = _one(Location, location_id)
    fields = {key: value for key, value in _provided(payload).items() if value is not None}
    active = fields.pop("is_active", None)
    if fields:
        location = services.location_save(actor=actor, location=location, **fields)
    if active is not None:
        location = services.location_set_active(actor=actor, location=location, active=active)
    return location


# --- Providers -----------------------------------------------------------------------------------


class ProviderOut(Schema):
    id: int
    first_name: str
    last_name: str
    credentials: str
    npi: str
    taxonomy: str
    specialty: str
    location_ids: list[int]
    user_id: int | None
    is_active: bool

    @staticmethod
    def resolve_location_ids(obj) -> list[int]:
        return sorted(location.pk for location in obj.locations.all())


class ProviderIn(Schema):
    first_name: str = Field(..., max_length=80)
    last_name: str = Field(..., max_length=80)
    credentials: str = Field("", max_length=20)
    npi: str = Field(..., max_length=10, description="individual NPI")
    taxonomy: str = Field(..., max_length=10)
    specialty: str = Field(..., max_length=120)
    location_ids: list[int] = []
    user_id: int | None = Field(None, description="the clinician's staff account")


class ProviderPatch(Schema):
    first_name: str | None = Field(None, max_length=80)
    last_name: str | None = Field(None, max_length=80)
    credentials: str | None = Field(None, max_length=20)
    npi: str | None = Field(None, max_length=10)
    taxonomy: str | None = Field(None, max_length=10)
    specialty: str | None = Field(None, max_length=120)
    location_ids: list[int] | None = None
    user_id: int | None = None
    is_active: bool | None = None


def _locations(ids: list[int]) -> list[Location]:
    found = list(Location.objects.filter(pk__in=ids))
    missing = sorted(set(ids) - {location.pk for location in found})
    if missing:
        raise InvalidInput(
            f"location_ids: no location with id {', '.join(map(str, missing))}.",
            field="location_ids",
        )
    return found


def _clinician(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise InvalidInput(f"user_id: no user with id {user_id}.", field="user_id")
    return user


@providers_router.get("", response=list[ProviderOut], summary="Providers")
@requires(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def provider_list(request):
    return selectors.providers_for_setup()


@providers_router.post("", response={201: ProviderOut}, summary="Add a provider")
@requires(Perm.MANAGE_PRACTICE)
def provider_create(request, payload: ProviderIn):
    data = payload.model_dump()
    locations = _locations(data.pop("location_ids"))
    user = _clinician(data.pop("user_id"))
    provider = services.provider_save(
        actor=user_of(request), locations=locations, user=user, **data
    )
    return Status(201, provider)


@providers_router.get("/{int:provider_id}", response=ProviderOut, summary="One provider")
@requires(Perm.MANAGE_PRACTICE, Perm.VIEW_AUDIT)
def provider_read(request, provider_id: int):
    return _one(Provider, provider_id)


@providers_router.patch("/{int:provider_id}", response=ProviderOut, summary="Edit a provider")
@requires(Perm.MANAGE_PRACTICE)
def provider_update(request, provider_id: int, payload: ProviderPatch):
    actor = user_of(request)
    provider = _one(Provider, provider_id)
    data = _provided(payload)
    active = data.pop("is_active", None)
    kwargs = {key: value for key, value in data.items() if value is not None}
    if "location_ids" in data:
        kwargs["locations"] = _locations(kwargs.pop("location_ids", None) or [])
    if "user_id" in data:
        kwargs["user"] = _clinician(kwargs.pop("user_id", None))
    if kwargs:
        provider = services.provider_save(actor=actor, provider=provider, **kwargs)
    if active is not None:
        provider = services.provider_set_active(actor=actor, provider=provider, active=active)
    return provider


# --- Users ---------------------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    title: str
    roles: list[str]
    is_active: bool
    last_login: datetime | None

    @staticmethod
    def resolve_roles(obj) -> list[str]:
        return sorted(role.code for role in obj.roles.all())


class UserIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1)
    first_name: str = Field(..., max_length=150)
    last_name: str = Field(..., max_length=150)
    email: str = Field("", max_length=254)
    title: str = Field("", max_length=80)
    roles: list[str] = Field(..., min_length=1)


class UserPatch(Schema):
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    email: str | None = Field(None, max_length=254)
    title: str | None = Field(None, max_length=80)
    roles: list[str] | None = None
    is_active: bool | None = None


class PasswordIn(Schema):
    password: str = Field(..., min_length=1)
    current_password: str | None = Field(
        None, description="required when changing your own password"
    )


@users_router.get("", response=list[UserOut], summary="Staff accounts (auditors read them too)")
@requires(Perm.MANAGE_USERS, Perm.VIEW_AUDIT)
def user_list(request):
    return selectors.staff_for_setup()


@users_router.post("", response={201: UserOut}, summary="Create a staff account")
@requires(Perm.MANAGE_USERS)
def user_create(request, payload: UserIn):
    data = payload.model_dump()
    user = services.user_create(actor=user_of(request), role_codes=data.pop("roles"), **data)
    return Status(201, user)


def _member(request, user_id: int) -> User:
    return get_for_user(User, user_of(request), Perm.MANAGE_USERS, pk=user_id, record_view=True)


@users_router.get("/{int:user_id}", response=UserOut, summary="One staff account")
@requires(Perm.MANAGE_USERS)
def user_read(request, user_id: int):
    return _member(request, user_id)


@users_router.patch("/{int:user_id}", response=UserOut, summary="Edit, change roles, (de)activate")
@requires(Perm.MANAGE_USERS)
def user_update(request, user_id: int, payload: UserPatch):
    actor = user_of(request)
    member = _member(request, user_id)
    data = {key: value for key, value in _provided(payload).items() if value is not None}
    roles = data.pop("roles", None)
    active = data.pop("is_active", None)
    if data:
        member = services.user_update(actor=actor, user=member, **data)
    if roles is not None:
        member = services.user_set_roles(actor=actor, user=member, role_codes=roles)
    if active is True and not member.is_active:
        member = services.user_reactivate(actor=actor, user=member)
    elif active is False and member.is_active:
        member = services.user_deactivate(actor=actor, user=member)
    return member


@users_router.post(
    "/{int:user_id}/password",
    response=UserOut,
    summary="Reset a password (yours: send current_password); tokens end",
)
@requires(Perm.MANAGE_USERS)
def user_password(request, user_id: int, payload: PasswordIn):
    member = _member(request, user_id)
    return services.user_reset_password(
        actor=user_of(request),
        user=member,
        password=payload.password,
        current_password=payload.current_password,
    )


@users_router.post("/{int:user_id}/unlock", response=UserOut, summary="Lift a sign-in lockout")
@requires(Perm.MANAGE_USERS)
def user_unlock(request, user_id: int):
    member = _member(request, user_id)
    services.user_unlock(actor=user_of(request), user=member)
    return member


# --- Approvals -----------------------------------------------------------------------------------


class ApprovalIn(Schema):
    kind: str = Field(..., description=", ".join(DecisionKind.values))
    amount: Money
    description: str = Field(..., min_length=1, max_length=300)


class DecisionIn(Schema):
    note: str = Field("", max_length=300)


class ApprovalOut(Schema):
    id: int
    kind: str
    amount: Decimal
    description: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    within_requester_authority: bool

    @staticmethod
    def resolve_requested_by(obj) -> str:
        return obj.requested_by.username

    @staticmethod
    def resolve_decided_by(obj) -> str | None:
        return obj.decided_by.username if obj.decided_by_id else None


@approvals_router.post("", response={201: ApprovalOut}, summary="Request a money decision")
@idempotent
def approval_request(request, payload: ApprovalIn):
    made = services.approval_request(
        kind=payload.kind,
        amount=payload.amount,
        description=payload.description,
        requested_by=user_of(request),
    )
    return Status(201, made)


@approvals_router.get("/queue", response=list[ApprovalOut], summary="Waiting for my decision")
def approval_queue(request):
    return services.pending_for(user_of(request)).select_related("decided_by")


@approvals_router.get("/mine", response=list[ApprovalOut], summary="My requests")
def approval_mine(request):
    return ApprovalRequest.objects.filter(requested_by=user_of(request)).select_related(
        "requested_by", "decided_by"
    )[:200]


@approvals_router.post("/{int:request_id}/approve", response=ApprovalOut, summary="Approve")
def approval_approve(request, request_id: int, payload: DecisionIn):
    return services.approval_decide(
        request_id=request_id, decided_by=user_of(request), approve=True, note=payload.note
    )


@approvals_router.post("/{int:request_id}/reject", response=ApprovalOut, summary="Reject (note)")
def approval_reject(request, request_id: int, payload: DecisionIn):
    return services.approval_decide(
        request_id=request_id, decided_by=user_of(request), approve=False, note=payload.note
    )


@approvals_router.post("/{int:request_id}/cancel", response=ApprovalOut, summary="Withdraw mine")
def approval_cancel(request, request_id: int):
    return services.approval_cancel(request_id=request_id, cancelled_by=user_of(request))


# --- Audit trail (read and export only: there is no endpoint that writes to it) --------------


class AuditFilters(Schema):
    user: str = ""
    patient: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to")
    flagged: bool = False

    def as_search(self) -> dict:
        return {
            "user_query": self.user.strip(),
            "patient_id": self.patient.strip(),
            "object_type": self.object_type.strip(),
            "object_id": self.object_id.strip(),
            "action": self.action.strip(),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "flagged_only": self.flagged,
        }


class AuditEventOut(Schema):
    id: int
    seq: int | None  # None until the event is sealed into the chain (a few seconds)
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    patient_id: str
    ip_address: str
    changes: dict
    reason: str
    flagged: bool
    hash: str | None


class AuditPage(Schema):
    count: int
    offset: int
    limit: int
    results: list[AuditEventOut]


@audit_router.get("", response=AuditPage, summary="Search the audit trail")
@requires(Perm.VIEW_AUDIT)
def audit_search(
    request,
    filters: Query[AuditFilters],
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
):
    events = selectors.audit_search(**filters.as_search())
    return {
        "count": events.count(),
        "offset": offset,
        "limit": limit,
        "results": list(events[offset : offset + limit]),
    }


@audit_router.get("/export.csv", summary="Export the audit trail as CSV (itself audited)")
@requires(Perm.EXPORT_AUDIT)
def audit_export(request, filters: Query[AuditFilters]):
    response = StreamingHttpResponse(
        audit_csv(filters.as_search(), user=user_of(request)), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


# --- Modules -------------------------------------------------------------------------------------


class ModuleOut(Schema):
    code: str
    label: str
    enabled: bool
    switchable: bool


class ModuleSwitchIn(Schema):
    enabled: bool


def _module_list() -> list[dict]:
    return [
        {"code": m.code, "label": m.label, "enabled": on, "switchable": m.switchable}
        for m, on in selectors.module_states()
    ]


@modules_router.get("", response=list[ModuleOut], summary="Modules and whether each is on")
def module_list(request):
    return _module_list()


@modules_router.put("/{code}", response=ModuleOut, summary="Switch a module on or off")
@requires(Perm.MANAGE_PRACTICE)
def module_switch(request, code: str, payload: ModuleSwitchIn):
    services.module_set_enabled(actor=user_of(request), module=code, enabled=payload.enabled)
    return next(item for item in _module_list() if item["code"] == code)


routers = [
    ("me", me_router),
    ("practice", practice_router),
    ("locations", locations_router),
    ("providers", providers_router),
    ("users", users_router),
    ("approvals", approvals_router),
    ("audit", audit_router),
    ("modules", modules_router),
]
