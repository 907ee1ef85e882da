"""What a user's roles allow: the permission names they hold, checked by name.

No record is fetched and nothing is audited here, so the audit trail can ask it who may read
protected values; `core.access` builds the record-level checks (and their audit) on it and
exports these names too.
"""

from __future__ import annotations

from medoffice.core.exceptions import NotPermitted
from medoffice.core.models import RolePermission
from medoffice.core.permissions import in_words

_CACHE_ATTR = "_medoffice_permissions"


def permissions_of(user) -> frozenset[str]:
    """The permission names a user holds through their roles (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(
            RolePermission.objects.filter(role__users=user).values_list("codename", flat=True)
        )
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_permissions(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def has_perm(user, perm: str) -> bool:
    return str(perm) in permissions_of(user)


def has_any_perm(user, *perms: str) -> bool:
    held = permissions_of(user)
    return any(str(perm) in held for perm in perms)


def require_perm(user, *perms: str) -> None:
    """Raise NotPermitted unless the user holds at least one of the permissions."""
    if not has_any_perm(user, *perms):
        # In words, never a permission code: the message reaches 403 pages.
        needed = " or ".join(dict.fromkeys(in_words(p) for p in perms))
        raise NotPermitted(f"Your role does not allow this: it needs permission to {needed}.")
