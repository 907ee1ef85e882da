"""The mailbox's pages: clearinghouse settings with a write-only secret, the connection test,
submissions and receipts with "Collect now"; each page as anonymous, as a role without the
permission and as one with it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medoffice.claims import mailbox_services as services
from medoffice.claims.models import Clearinghouse, MailboxReceipt, MailboxSubmission
from medoffice.claims.tests.mailbox_support import folder_clearinghouse, sftp_clearinghouse

pytestmark = pytest.mark.django_db
SECRET = "correct-horse-battery-staple-9431"


def form(server, **changes):
    values = {
        "name": "Availity", "transport": "sftp", "host": server.host, "port": str(server.port),
        "username": server.username, "secret": server.password, "secret_kind": "password",
        "host_key": server.host_key, "outbound_path": "/outbound", "inbound_path": "/inbound",
        "archive_path": "", "after_collect": "keep", "submitter_qualifier": "ZZ",
        "submitter_id": "RIVERSIDE01", "receiver_qualifier": "ZZ", "receiver_id": "AVAILITY",
        "is_active": "on",
    }  # fmt: skip
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("role", "pages", "mailbox"),
    [("front_desk", 403, 403), ("clinician", 403, 403), ("biller", 403, 200),
     ("manager", 200, 200), ("owner", 200, 200)],
)  # fmt: skip
def test_who_may_open_the_pages(client, client_for, tmp_path, users, role, pages, mailbox):
    house = folder_clearinghouse(tmp_path, users["manager"])
    for url in (
        reverse("claims:clearinghouses"),
        reverse("claims:clearinghouse_new"),
        reverse("claims:clearinghouse_edit", args=[house.pk]),
    ):
        assert client_for(role).get(url).status_code == pages, url
        assert client.get(url).status_code == 302  # anonymous: to the login page
    assert client_for(role).get(reverse("claims:mailbox")).status_code == mailbox


def test_front_desk_cannot_change_settings_test_or_collect(client_for, tmp_path, users):
    house = folder_clearinghouse(tmp_path, users["manager"])
    (tmp_path / "in" / "a.txt").write_bytes(b"a")
    desk = client_for("front_desk")
    edit = reverse("claims:clearinghouse_edit", args=[house.pk])
    assert desk.post(edit, {"name": "Renamed"}).status_code == 403
    assert desk.post(reverse("claims:clearinghouse_test", args=[house.pk])).status_code == 403
    assert desk.post(reverse("claims:mailbox_collect")).status_code == 403
    assert client_for("biller").post(edit, {"name": "Renamed"}).status_code == 403
    house.refresh_from_db()
    assert house.name == "Portal uploads" and not MailboxReceipt.objects.exists()


def test_create_then_edit_the_secret_is_never_shown_back(client_for, sftp_server):
    manager = client_for("manager")
    response = manager.post(reverse("claims:clearinghouse_new"), form(sftp_server, secret=SECRET))
    assert response.status_code == 302, response.content.decode()[:2000]
    house = Clearinghouse.objects.get()
    assert house.secret == SECRET and house.submitter_id == "RIVERSIDE01"
    for url in (reverse("claims:clearinghouses"),
                reverse("claims:clearinghouse_edit", args=[house.pk])):  # fmt: skip
        html = manager.get(url).content.decode()
        assert SECRET not in html and "Availity" in html
    html = manager.get(reverse("claims:clearinghouse_edit", args=[house.pk])).content.decode()
    assert "stored (leave empty to keep it)" in html
    # A refused change shows the form again: still without the secret it was given.
    refused = manager.post(
        reverse("claims:clearinghouse_edit", args=[house.pk]),
        form(sftp_server, secret="another-secret-value-77", port="99999"),
    )
    text = refused.content.decode()
    assert refused.status_code == 422 and "from 1 to 65535" in text
    assert "another-secret-value-77" not in text and SECRET not in text
    house.refresh_from_db()
    assert house.secret == SECRET and house.port == sftp_server.port
    kept = manager.post(reverse("claims:clearinghouse_edit", args=[house.pk]),
                        form(sftp_server, secret="", name="Availity East"))  # fmt: skip
    assert kept.status_code == 302
    house.refresh_from_db()
    assert house.name == "Availity East" and house.secret == SECRET


def test_bad_settings_on_the_page_name_the_field_and_save_nothing(client_for, sftp_server):
    response = client_for("manager").post(
        reverse("claims:clearinghouse_new"), form(sftp_server, host_key="not a key")
    )
    assert response.status_code == 422
    assert "The host key cannot be read" in response.content.decode()
    assert not Clearinghouse.objects.exists()


def test_the_test_connection_button_says_what_it_found(client_for, sftp_server, users):
    house = sftp_clearinghouse(sftp_server, users["manager"])
    manager = client_for("manager")
    url = reverse("claims:clearinghouse_test", args=[house.pk])
    page = manager.post(url, follow=True).content.decode()
    assert "both folders are there" in page
    (sftp_server.root / "outbound").rmdir()
    page = manager.post(url, follow=True).content.decode()
    assert "The outbound folder &#x27;/outbound&#x27; does not exist on the server" in page


def test_collect_now_files_the_answers_and_the_page_lists_them(client_for, tmp_path, users):
    house = folder_clearinghouse(tmp_path, users["manager"])
    (tmp_path / "in" / "resp-b.txt").write_bytes(b"bee")
    (tmp_path / "in" / "resp-a.txt").write_bytes(b"a")
    services.submit_file(actor=users["biller"], clearinghouse=house, name="batch-1.837",
                         content=b"ISA")  # fmt: skip
    biller = client_for("biller")
    page = biller.post(reverse("claims:mailbox_collect"), follow=True).content.decode()
    assert "Portal uploads: 2 new file(s) filed." in page
    assert MailboxReceipt.objects.count() == 2 and MailboxSubmission.objects.count() == 1
    listing = biller.get(reverse("claims:mailbox"), {"sort_receipts": "name"}).content.decode()
    assert "batch-1.837" in listing
    assert listing.index("resp-a.txt") < listing.index("resp-b.txt")
    reversed_listing = biller.get(reverse("claims:mailbox"), {"sort_receipts": "-name"})
    text = reversed_listing.content.decode()
    assert text.index("resp-b.txt") < text.index("resp-a.txt")
    filtered = biller.get(reverse("claims:mailbox"), {"name": "resp-b"}).content.decode()
    assert "resp-b.txt" in filtered and "resp-a.txt" not in filtered
    assert "batch-1.837" not in filtered
    again = biller.post(reverse("claims:mailbox_collect"), follow=True).content.decode()
    assert "0 new file(s) filed, 2 already filed" in again
    assert MailboxReceipt.objects.count() == 2
    manager_view = client_for("manager").get(reverse("claims:mailbox")).content.decode()
    assert "Collect now" in manager_view


def test_a_refused_form_answers_422_with_its_errors_as_the_other_setup_forms(
    client_for, tmp_path, users
):
    house = folder_clearinghouse(tmp_path, users["manager"])
    manager = client_for("manager")
    values = {
        "name": "", "transport": "folder", "outbound_path": "relative/out",
        "inbound_path": str(tmp_path / "in"), "after_collect": "keep",
        "submitter_qualifier": "ZZ", "receiver_qualifier": "ZZ", "is_active": "on",
    }  # fmt: skip
    created = manager.post(reverse("claims:clearinghouse_new"), values)
    assert created.status_code == 422
    html = created.content.decode()
    assert "Give the clearinghouse a name." in html and "as a full path" in html
    assert 'role="alert"' in html and 'id="outbound_path-error"' in html
    assert 'value="relative/out"' in html  # the form is shown again with what was typed
    changed = manager.post(reverse("claims:clearinghouse_edit", args=[house.pk]), values)
    assert (
        changed.status_code == 422 and "Give the clearinghouse a name." in changed.content.decode()
    )
    assert list(Clearinghouse.objects.values_list("name", "outbound_path")) == [
        ("Portal uploads", str(tmp_path / "out"))
    ]
