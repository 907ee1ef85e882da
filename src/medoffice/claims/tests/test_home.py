"""The claims home links only the pages the user's role opens."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("clinician", ["claims:encounters"], ["claims:worklist", "claims:acks_apply",
                                              "claims:mailbox", "claims:clearinghouses"]),
        ("biller", ["claims:encounters", "claims:worklist", "claims:acks_apply", "claims:mailbox"],
         ["claims:clearinghouses"]),
        ("manager", ["claims:worklist", "claims:mailbox", "claims:clearinghouses"], []),
    ],
)  # fmt: skip
def test_each_role_sees_the_links_it_can_open(client_for, role, shown, hidden):
    client = client_for(role)
    page = client.get(reverse("claims:home")).content.decode()
    for name in shown:
        assert f'href="{reverse(name)}"' in page, name
        assert client.get(reverse(name)).status_code == 200, name
    for name in hidden:
        assert f'href="{reverse(name)}"' not in page, name


def test_front_desk_and_strangers_are_kept_out(client_for, client):
    assert client_for("front_desk").get(reverse("claims:home")).status_code == 403
    assert client.get(reverse("claims:home")).status_code == 302  # to the sign-in page
