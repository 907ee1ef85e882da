"""Who may open what: every foundation page and API endpoint, for each of the seven roles.

Read the tables as the specification. A role in the "allowed" set gets the success status;
every other role gets 403; anonymous visitors are sent to the login page (pages) or get 401
(API). Allowed writes use harmless or deliberately incomplete input, so the status shows the
request got past the permission check (e.g. 422 for a missing field).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from medoffice.core.permissions import ROLE_CODES

pytestmark = pytest.mark.django_db

ALL = frozenset(ROLE_CODES)
SETUP = frozenset({"owner", "manager"})  # manage the practice and its users
AUDITING = frozenset({"owner", "manager", "auditor"})  # read setup and the audit trail

# url name, argument (a key of the `objects` fixture), method, form data, allowed, success
PAGES = [
    ("dashboard:home", None, "get", None, ALL, 200),
    ("core:approvals", None, "get", None, ALL, 200),
    ("core:approval_decide", 999999, "post", {"decision": "approve"}, ALL, 302),
    ("core:api_tokens", None, "get", None, ALL, 200),
    ("core:two_factor", None, "get", None, ALL, 200),
    ("core:practice", None, "get", None, AUDITING, 200),
    ("core:practice_edit", None, "get", None, SETUP, 200),
    ("core:practice_edit", None, "post", {}, SETUP, 422),
    ("core:locations", None, "get", None, AUDITING, 200),
    ("core:location_new", None, "get", None, SETUP, 200),
    ("core:location_new", None, "post", {}, SETUP, 422),
    ("core:location_edit", "location", "get", None, SETUP, 200),
    ("core:location_active", "location", "post", {"active": "1"}, SETUP, 302),
    ("core:providers", None, "get", None, AUDITING, 200),
    ("core:provider_new", None, "get", None, SETUP, 200),
    ("core:provider_edit", "provider", "get", None, SETUP, 200),
    ("core:provider_active", "provider", "post", {"active": "1"}, SETUP, 302),
    ("core:staff", None, "get", None, AUDITING, 200),
    ("core:staff_new", None, "get", None, SETUP, 200),
    ("core:staff_new", None, "post", {}, SETUP, 422),
    ("core:staff_detail", "member", "get", None, SETUP, 200),
    ("core:staff_roles", "member", "post", {}, SETUP, 422),
    ("core:staff_password", "member", "post", {}, SETUP, 422),
    ("core:staff_action", ("member", "unlock"), "post", {}, SETUP, 302),
    ("core:modules", None, "get", None, SETUP, 200),
    ("core:modules", None, "post", {"module": "nothing"}, SETUP, 302),
    ("core:authority_limits", None, "get", None, AUDITING, 200),
    ("core:audit", None, "get", None, AUDITING, 200),
    ("core:audit_export", None, "get", None, AUDITING, 200),
    ("core:emergency_review", None, "get", None, AUDITING, 200),
    ("core:emergency_review_one", 999999, "post", {}, AUDITING, 302),
    ("core:emergency_open", None, "get", None, ALL, 403),  # no record named: refused for all
]

# path ({key} is filled from the `objects` fixture), method, JSON body, allowed, success
ENDPOINTS = [
    ("/api/me", "get", None, ALL, 200),
    ("/api/practice", "get", None, AUDITING, 200),
    ("/api/practice", "patch", {}, SETUP, 200),
    ("/api/practice/limits", "get", None, AUDITING, 200),
    ("/api/practice/limits", "put", [], SETUP, 200),
    ("/api/locations", "get", None, AUDITING, 200),
    ("/api/locations", "post", {}, SETUP, 422),
    ("/api/locations/{location}", "get", None, AUDITING, 200),
    ("/api/locations/{location}", "patch", {}, SETUP, 200),
    ("/api/providers", "get", None, AUDITING, 200),
    ("/api/providers", "post", {}, SETUP, 422),
    ("/api/providers/{provider}", "get", None, AUDITING, 200),
    ("/api/providers/{provider}", "patch", {}, SETUP, 200),
    ("/api/users", "get", None, AUDITING, 200),
    ("/api/users", "post", {}, SETUP, 422),
    ("/api/users/{member}", "get", None, SETUP, 200),
    ("/api/users/{member}", "patch", {}, SETUP, 200),
    ("/api/users/{member}/password", "post", {}, SETUP, 422),
    ("/api/users/{member}/unlock", "post", None, SETUP, 200),
    ("/api/approvals", "post", {}, ALL, 422),
    ("/api/approvals/queue", "get", None, ALL, 200),
    ("/api/approvals/mine", "get", None, ALL, 200),
    ("/api/approvals/999999/approve", "post", {}, ALL, 404),
    ("/api/audit", "get", None, AUDITING, 200),
    ("/api/audit/export.csv", "get", None, AUDITING, 200),
    ("/api/modules", "get", None, ALL, 200),
    ("/api/modules/patients", "put", {"enabled": True}, SETUP, 200),
]


def _page_id(row) -> str:
    return f"{row[2].upper()} {row[0]}"


def _url(name: str, arg, objects) -> str:
    args = [] if arg is None else list(arg) if isinstance(arg, tuple) else [arg]
    return reverse(name, args=[objects[a].pk if a in objects else a for a in args])


@pytest.mark.parametrize(("name", "arg", "method", "data", "allowed", "success"), PAGES,
                         ids=[_page_id(row) for row in PAGES])  # fmt: skip
def test_page(client_for, objects, name, arg, method, data, allowed, success):
    url = _url(name, arg, objects)
    seen = {}
    for role in ROLE_CODES:
        client = client_for(role)
        response = client.get(url) if method == "get" else client.post(url, data or {})
        seen[role] = response.status_code
    assert seen == {role: success if role in allowed else 403 for role in ROLE_CODES}
    anonymous = Client().get(url) if method == "get" else Client().post(url, data or {})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("core:login"))


@pytest.mark.parametrize(("path", "method", "body", "allowed", "success"), ENDPOINTS,
                         ids=[f"{row[1].upper()} {row[0]}" for row in ENDPOINTS])  # fmt: skip
def test_endpoint(client_for, objects, path, method, body, allowed, success):
    url = path.format(**{key: obj.pk for key, obj in objects.items()})

    def call(client: Client):
        if method == "get":
            return client.get(url)
        return getattr(client, method)(url, body, content_type="application/json")

    seen = {role: call(client_for(role)).status_code for role in ROLE_CODES}
    assert seen == {role: success if role in allowed else 403 for role in ROLE_CODES}
    assert call(Client()).status_code == 401


def test_every_foundation_page_is_in_the_matrix():
    """A new page must be added to the table above (or the test fails)."""
    from django.urls import get_resolver

    names = {
        f"{namespace}:{name}"
        for namespace in ("core", "dashboard")
        for name in get_resolver().namespace_dict[namespace][1].reverse_dict
        if isinstance(name, str)
    }
    public = {"core:login", "core:logout"}  # sign-in pages, tested in test_security
    assert names - public == {row[0] for row in PAGES}


def test_every_foundation_endpoint_is_in_the_matrix():
    from medoffice.core.api import routers

    prefixes = tuple(f"/api/{prefix}" for prefix, _ in routers)
    schema = Client().get("/api/openapi.json").json()  # the project's API, as served
    declared = {
        (path.rstrip("/"), method)
        for path, operations in schema["paths"].items()
        if path.startswith(prefixes)
        for method in operations
    }
    templates = {"{location}": "{location_id}", "{provider}": "{provider_id}",
                 "{member}": "{user_id}", "999999": "{request_id}", "/patients": "/{code}"}  # fmt: skip
    listed = set()
    for path, method, *_ in ENDPOINTS:
        for concrete, template in templates.items():
            path = path.replace(concrete, template)
        listed.add((path, method))
    missing = declared - listed
    # Approving and rejecting are one rule; cancelling is the requester's own act.
    assert missing <= {
        ("/api/approvals/{request_id}/reject", "post"),
        ("/api/approvals/{request_id}/cancel", "post"),
    }, missing
