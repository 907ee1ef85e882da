"""Every write to the practice, its people, authority and approvals, by concern: validation
(model errors naming the field, used by every app), practice setup, users and roles,
authority limits, approvals, emergency access and API tokens.

Callers import from here (`from medoffice.core import services`); each name below is
defined in one submodule. A test that replaces a module-level value patches the submodule
that reads it (e.g. `services.approvals._approval_handlers`), not this package.
"""

from __future__ import annotations

from medoffice.core.services.approvals import (
    ApprovalHandler,
    approval_cancel,
    approval_decide,
    approval_request,
    on_approval_decided,
    pending_for,
)
from medoffice.core.services.authority import (
    authority_limits_set,
    authority_of,
    covers,
    may_request,
)
from medoffice.core.services.emergency import (
    EMERGENCY_ACCESS_MINUTES,
    MIN_REASON_LENGTH,
    emergency_access_allowed,
    emergency_access_open,
    emergency_access_review,
)
from medoffice.core.services.practice import (
    LOCATION_FIELDS,
    PRACTICE_FIELDS,
    PROVIDER_FIELDS,
    PROVIDER_USER_ROLES,
    get_practice,
    location_save,
    location_set_active,
    module_set_enabled,
    practice_save,
    provider_save,
    provider_set_active,
)
from medoffice.core.services.tokens import (
    api_token_create,
    api_token_revoke,
    token_digest,
)
from medoffice.core.services.users import (
    USER_FIELDS,
    end_sessions_of,
    user_create,
    user_deactivate,
    user_reactivate,
    user_reset_password,
    user_set_roles,
    user_unlock,
    user_update,
)
from medoffice.core.services.validation import (
    field_label,
    full_clean_or_raise,
)

__all__ = [
    "EMERGENCY_ACCESS_MINUTES",
    "LOCATION_FIELDS",
    "MIN_REASON_LENGTH",
    "PRACTICE_FIELDS",
    "PROVIDER_FIELDS",
    "PROVIDER_USER_ROLES",
    "USER_FIELDS",
    "ApprovalHandler",
    "api_token_create",
    "api_token_revoke",
    "approval_cancel",
    "approval_decide",
    "approval_request",
    "authority_limits_set",
    "authority_of",
    "covers",
    "emergency_access_allowed",
    "emergency_access_open",
    "emergency_access_review",
    "end_sessions_of",
    "field_label",
    "full_clean_or_raise",
    "get_practice",
    "location_save",
    "location_set_active",
    "may_request",
    "module_set_enabled",
    "on_approval_decided",
    "pending_for",
    "practice_save",
    "provider_save",
    "provider_set_active",
    "token_digest",
    "user_create",
    "user_deactivate",
    "user_reactivate",
    "user_reset_password",
    "user_set_roles",
    "user_unlock",
    "user_update",
]
