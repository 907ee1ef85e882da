"""Practice setup: the practice, locations, providers, staff, module switches, authority limits.

Each refusal is checked twice: the message names the field, and nothing was written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from medoffice.core import services
from medoffice.core.exceptions import InvalidInput, NotPermitted
from medoffice.core.models import (
    AuditAction,
    AuditEvent,
    AuthorityLimit,
    Location,
    ModuleSwitch,
    Practice,
    Provider,
    User,
)
from medoffice.testing import factories

pytestmark = pytest.mark.django_db


def _practice_form(practice: Practice, **changes) -> dict:
    data = {
        "legal_name": practice.legal_name, "tax_id": "", "group_npi": practice.group_npi,
        "phone": practice.phone, "address_line1": practice.address_line1,
        "address_line2": practice.address_line2, "city": practice.city, "state": practice.state,
        "zip_code": practice.zip_code, "time_zone": practice.time_zone,
    }  # fmt: skip
    if practice.require_two_factor:
        data["require_two_factor"] = "on"
    data.update(changes)
    return data


def _row(model, pk) -> dict:
    return model.objects.filter(pk=pk).values().get()


# --- The practice -------------------------------------------------------------------------------


def test_the_tax_id_is_shown_masked_except_the_last_four(client_for, practice):
    for url in (reverse("core:practice"), reverse("core:practice_edit")):
        page = client_for("manager").get(url).content.decode()
        assert "12-3456789" not in page and "3456789" not in page
    overview = client_for("manager").get(reverse("core:practice")).content.decode()
    assert "••-•••6789" in overview
    body = client_for("manager").get("/api/practice").json()
    assert body["tax_id_masked"] == "••-•••6789" and "tax_id" not in body


def test_saving_the_practice_keeps_the_tax_id_when_left_blank(client_for, practice):
    response = client_for("manager").post(
        reverse("core:practice_edit"),
        _practice_form(practice, legal_name="Riverside Medical Group", time_zone="America/Denver",
                       require_two_factor="on"),
    )  # fmt: skip
    assert response.status_code == 302
    practice.refresh_from_db()
    assert practice.legal_name == "Riverside Medical Group"
    assert practice.time_zone == "America/Denver" and practice.require_two_factor
    assert practice.tax_id == "12-3456789"


def test_a_new_tax_id_replaces_the_old_one(client_for, practice):
    client_for("owner").post(
        reverse("core:practice_edit"), _practice_form(practice, tax_id="98-7654321")
    )
    practice.refresh_from_db()
    assert practice.tax_id == "98-7654321"


def _refused_edit(client_for, practice, **changes):
    """The practice page's answer to a bad edit: 422, and nothing saved."""
    before = _row(Practice, practice.pk)
    response = client_for("manager").post(
        reverse("core:practice_edit"), _practice_form(practice, legal_name="Changed", **changes)
    )
    assert response.status_code == 422
    assert _row(Practice, practice.pk) == before
    return response


def test_a_bad_group_npi_is_refused_naming_the_field_and_nothing_changes(client_for, practice):
    response = _refused_edit(client_for, practice, group_npi="1234567890")
    summary = response.context["form"].error_summary()
    assert any(
        line.lower().startswith("group npi: this npi fails the check digit") for line in summary
    )
    assert "This NPI fails the check digit" in response.context["form"].errors["group_npi"][0]


def test_a_pay_to_address_is_saved_on_the_practice_page_and_shown(client_for, practice):
    response = client_for("manager").post(
        reverse("core:practice_edit"),
        _practice_form(practice, pay_to_address_line1="PO Box 4410", pay_to_city="Springfield",
                       pay_to_state="il", pay_to_zip_code="62705-4410"),
    )  # fmt: skip
    assert response.status_code == 302
    practice.refresh_from_db()
    assert (practice.pay_to_address_line1, practice.pay_to_state, practice.pay_to_zip_code) == (
        "PO Box 4410", "IL", "62705-4410")  # fmt: skip
    assert practice.has_pay_to
    overview = client_for("manager").get(reverse("core:practice")).content.decode()
    assert "PO Box 4410, Springfield, IL 62705-4410" in overview
    form = client_for("manager").get(reverse("core:practice_edit")).content.decode()
    assert 'name="pay_to_address_line1"' in form and 'value="PO Box 4410"' in form


def test_a_partial_pay_to_address_is_refused_naming_what_is_missing(client_for, practice):
    response = _refused_edit(client_for, practice, pay_to_address_line1="PO Box 4410")
    errors = response.context["form"].errors
    assert set(errors) == {"pay_to_city", "pay_to_state", "pay_to_zip_code"}
    assert "Give the whole pay-to address, or leave it all blank." in errors["pay_to_city"][0]
    before = _row(Practice, practice.pk)
    with pytest.raises(InvalidInput, match="Missing: pay-to city, pay-to state, pay-to ZIP code"):
        services.practice_save(actor=None, pay_to_address_line1="PO Box 4410")
    assert _row(Practice, practice.pk) == before


def test_the_database_refuses_a_partial_pay_to_address(practice):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(pay_to_city="Springfield")
    assert Practice.objects.get(pk=practice.pk).pay_to_city == ""


def test_a_pay_to_address_the_same_as_the_practices_is_not_a_pay_to(practice):
    assert not practice.has_pay_to
    services.practice_save(
        actor=None, pay_to_address_line1=practice.address_line1.upper(),
        pay_to_address_line2=practice.address_line2, pay_to_city=practice.city,
        pay_to_state=practice.state, pay_to_zip_code=practice.zip_code,
    )  # fmt: skip
    practice.refresh_from_db()
    assert practice.pay_to_address_line1 and not practice.has_pay_to


def test_the_api_sets_and_returns_the_pay_to_address(client_for, practice):
    response = client_for("manager").patch(
        "/api/practice",
        {"pay_to_address_line1": "PO Box 9", "pay_to_city": "Peoria", "pay_to_state": "IL",
         "pay_to_zip_code": "61601"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["pay_to_address_line1"] == "PO Box 9"
    assert Practice.objects.get(pk=practice.pk).pay_to_city == "Peoria"


def test_the_api_names_the_field_of_a_bad_npi(client_for, practice):
    response = client_for("manager").patch(
        "/api/practice",
        {"group_npi": "123456789X", "state": "I1"},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert "group NPI: An NPI is exactly 10 digits." in body["detail"]
    assert {"group_npi", "state"} <= set(body["errors"])
    practice.refresh_from_db()
    assert practice.state == "IL"


# --- Locations ------------------------------------------------------------------------------------

LOCATION = {"name": "Westside", "phone": "217-555-0100", "place_of_service": "11",
            "address_line1": "200 West St", "address_line2": "", "city": "Springfield",
            "state": "il", "zip_code": "62704"}  # fmt: skip


def test_add_edit_and_deactivate_a_location(client_for, practice):
    client = client_for("manager")
    assert client.post(reverse("core:location_new"), LOCATION).status_code == 302
    location = Location.objects.get(name="Westside")
    assert location.state == "IL"  # tidied
    client.post(
        reverse("core:location_edit", args=[location.pk]), {**LOCATION, "phone": "217-555-0199"}
    )
    location.refresh_from_db()
    assert location.phone == "217-555-0199"
    client.post(reverse("core:location_active", args=[location.pk]), {"active": "0"})
    location.refresh_from_db()
    assert not location.is_active
    listing = client.get(reverse("core:locations"))
    assert b"deactivated" in listing.content


def test_a_duplicate_location_name_is_refused(client_for, practice):
    factories.location(name="Westside")
    response = client_for("manager").post(
        reverse("core:location_new"), {**LOCATION, "name": "westside"}
    )
    assert response.status_code == 422
    assert "already a location called" in response.context["form"].errors["name"][0]
    assert Location.objects.filter(name__iexact="westside").count() == 1


def test_a_bad_place_of_service_is_refused(client_for, practice):
    response = client_for("manager").post(
        reverse("core:location_new"), {**LOCATION, "place_of_service": "X1"}
    )
    assert response.status_code == 422
    assert "place-of-service" in response.context["form"].errors["place_of_service"][0]
    assert not Location.objects.filter(name="Westside").exists()


# --- Providers -------------------------------------------------------------------------------------


def _provider_form(**changes) -> dict:
    data = {"first_name": "Ada", "last_name": "Lovelace", "credentials": "MD",
            "npi": "1245319599", "taxonomy": "207q00000x", "specialty": "Family Medicine"}  # fmt: skip
    data.update(changes)
    return data


def test_add_a_provider_with_locations_and_a_clinician_user(client_for, users, practice):
    location = factories.location()
    clinician = users["clinician"]
    response = client_for("manager").post(
        reverse("core:provider_new"),
        _provider_form(locations=[location.pk], user=clinician.pk),
    )
    assert response.status_code == 302
    provider = Provider.objects.get(npi="1245319599")
    assert provider.taxonomy == "207Q00000X"
    assert list(provider.locations.all()) == [location]
    assert provider.user == clinician


def test_a_bad_individual_npi_names_the_field(client_for, practice):
    response = client_for("manager").post(
        reverse("core:provider_new"), _provider_form(npi="1245319598")
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert any(
        line.lower().startswith("individual npi: this npi fails") for line in form.error_summary()
    )
    assert not Provider.objects.exists()


def test_only_a_clinician_can_be_linked(users, practice):
    with pytest.raises(InvalidInput) as caught:
        services.provider_save(
            actor=users["manager"], user=users["biller"], **_provider_form(taxonomy="207Q00000X")
        )
    assert caught.value.field == "user"
    assert not Provider.objects.exists()


def test_a_deactivated_location_cannot_be_given_to_a_provider(users, practice):
    closed = factories.location(is_active=False)
    with pytest.raises(InvalidInput, match="deactivated"):
        services.provider_save(
            actor=users["manager"], locations=[closed], **_provider_form(taxonomy="207Q00000X")
        )
    assert not Provider.objects.exists()


def test_providers_through_the_api(client_for, users, practice):
    location = factories.location()
    client = client_for("manager")
    created = client.post(
        "/api/providers",
        {**_provider_form(), "location_ids": [location.pk], "user_id": users["clinician"].pk},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["location_ids"] == [location.pk] and body["user_id"] == users["clinician"].pk
    bad = client.patch(
        f"/api/providers/{body['id']}", {"npi": "1245319598"}, content_type="application/json"
    )
    assert bad.status_code == 422 and "npi" in bad.json()["errors"]
    missing = client.patch(f"/api/providers/{body['id']}", {"location_ids": [999999]},
                           content_type="application/json")  # fmt: skip
    assert missing.status_code == 422 and "location_ids" in missing.json()["errors"]
    off = client.patch(
        f"/api/providers/{body['id']}", {"is_active": False}, content_type="application/json"
    )
    assert off.json()["is_active"] is False
    provider = Provider.objects.get(pk=body["id"])
    assert provider.npi == "1245319599" and list(provider.locations.all()) == [location]


# --- Staff ------------------------------------------------------------------------------------------


def _new_staff(**changes) -> dict:
    data = {"username": "jdoe", "first_name": "Jane", "last_name": "Doe", "email": "jane@example.org",
            "title": "Billing lead", "roles": ["biller"], "password": "plum-orchard-lantern"}  # fmt: skip
    data.update(changes)
    return data


def test_create_a_staff_account_with_roles(client_for, practice):
    response = client_for("manager").post(
        reverse("core:staff_new"), _new_staff(roles=["biller", "front_desk"])
    )
    user = User.objects.get(username="jdoe")
    assert response.status_code == 302 and response["Location"] == reverse(
        "core:staff_detail", args=[user.pk]
    )
    assert sorted(user.roles.values_list("code", flat=True)) == ["biller", "front_desk"]
    assert user.check_password("plum-orchard-lantern")
    client = Client()
    client.post(reverse("core:login"), {"username": "jdoe", "password": "plum-orchard-lantern"})
    assert client.get(reverse("dashboard:home")).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"roles": []}, "roles"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_a_bad_staff_account_is_refused_naming_the_field(client_for, practice, changes, field):
    response = client_for("manager").post(reverse("core:staff_new"), _new_staff(**changes))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not User.objects.filter(username="jdoe").exists()


def test_a_taken_username_is_refused(client_for, users):
    taken = users["biller"].username
    response = client_for("manager").post(
        reverse("core:staff_new"), _new_staff(username=taken.upper())
    )
    assert response.status_code == 422
    assert "taken" in response.context["form"].errors["username"][0]
    assert User.objects.filter(username__iexact=taken).count() == 1


def test_change_roles_is_recorded(client_for, users):
    member = users["front_desk"]
    client_for("manager").post(reverse("core:staff_roles", args=[member.pk]), {"roles": ["biller"]})
    assert list(member.roles.values_list("code", flat=True)) == ["biller"]
    event = AuditEvent.objects.filter(
        action=AuditAction.SECURITY, object_type="core.user", object_id=str(member.pk)
    ).last()
    assert event.changes == {"roles": {"before": ["front_desk"], "after": ["biller"]}}


def test_nobody_changes_their_own_roles(client_for, users):
    manager = users["manager"]
    response = client_for("manager").post(
        reverse("core:staff_roles", args=[manager.pk]), {"roles": ["owner"]}
    )
    assert response.status_code == 422
    assert "own roles" in response.context["roles_form"].errors["roles"][0]
    assert list(manager.roles.values_list("code", flat=True)) == ["manager"]


def test_a_manager_cannot_grant_the_owners_role(client_for, users):
    """The owner's role holds what the manager's does not (reopening closed books), named in
    words, not as a permission code."""
    member = users["front_desk"]
    response = client_for("manager").post(
        reverse("core:staff_roles", args=[member.pk]), {"roles": ["owner"]}
    )
    assert response.status_code == 422
    error = response.context["roles_form"].errors["roles"][0]
    assert "You cannot grant the Owner physician role" in error
    assert "reopen periods" in error and "ledger." not in error
    assert list(member.roles.values_list("code", flat=True)) == ["front_desk"]
    # The owner can.
    client_for("owner").post(reverse("core:staff_roles", args=[member.pk]), {"roles": ["owner"]})
    assert list(member.roles.values_list("code", flat=True)) == ["owner"]


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("core:staff_password", {"password": "a-long-new-passphrase"}),
        ("core:staff_roles", {"roles": ["front_desk"]}),
        ("core:staff_detail", {"first_name": "X", "last_name": "Y", "email": "", "title": ""}),
    ],
)
def test_a_manager_cannot_manage_the_owners_account(client_for, users, url, data):
    owner = users["owner"]
    before = _row(User, owner.pk)
    response = client_for("manager").post(reverse(url, args=[owner.pk]), data)
    assert response.status_code == 403
    assert b"beyond yours" in response.content
    assert _row(User, owner.pk) == before
    assert list(owner.roles.values_list("code", flat=True)) == ["owner"]


def test_a_manager_cannot_deactivate_the_owner(client_for, users):
    response = client_for("manager").post(
        reverse("core:staff_action", args=[users["owner"].pk, "deactivate"])
    )
    assert response.status_code == 403
    users["owner"].refresh_from_db()
    assert users["owner"].is_active


def test_nobody_deactivates_themselves(users):
    with pytest.raises(InvalidInput):
        services.user_deactivate(actor=users["manager"], user=users["manager"])
    users["manager"].refresh_from_db()
    assert users["manager"].is_active


def test_deactivate_and_reactivate_through_the_api(client_for, users):
    member = users["clinician"]
    client = client_for("owner")
    off = client.patch(
        f"/api/users/{member.pk}", {"is_active": False}, content_type="application/json"
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    on = client.patch(f"/api/users/{member.pk}", {"is_active": True, "title": "Nurse practitioner"},
                      content_type="application/json")  # fmt: skip
    member.refresh_from_db()
    assert on.status_code == 200 and member.is_active and member.title == "Nurse practitioner"


def test_create_a_user_through_the_api(client_for, practice):
    client = client_for("manager")
    response = client.post("/api/users", _new_staff(), content_type="application/json")
    assert response.status_code == 201 and response.json()["roles"] == ["biller"]
    again = client.post("/api/users", _new_staff(), content_type="application/json")
    assert again.status_code == 409 and again.json()["field"] == "username"
    weak = client.post(
        "/api/users", _new_staff(username="other", password="123"), content_type="application/json"
    )
    assert weak.status_code == 422 and "password" in weak.json()["errors"]
    assert not User.objects.filter(username="other").exists()


# --- Module switches --------------------------------------------------------------------------------


def test_a_switched_off_module_answers_404_and_leaves_the_navigation(client_for, practice):
    manager = client_for("manager")
    page = manager.get(reverse("dashboard:home"))
    assert "patients" in [m.code for m in page.context["nav_modules"]]
    assert manager.get("/patients/").status_code != 404

    response = manager.post(reverse("core:modules"), {"module": "patients", "enabled": "0"})
    assert response.status_code == 302
    assert ModuleSwitch.objects.get(module="patients").enabled is False

    assert manager.get("/patients/").status_code == 404
    assert manager.get("/api/patients").status_code == 404
    assert manager.get("/api/payers").status_code == 404
    page = manager.get(reverse("dashboard:home"))
    assert "patients" not in [m.code for m in page.context["nav_modules"]]
    assert 'href="/patients/"' not in page.content.decode()
    assert {m["code"]: m["enabled"] for m in manager.get("/api/modules").json()}[
        "patients"
    ] is False

    on = manager.put("/api/modules/patients", {"enabled": True}, content_type="application/json")
    assert on.status_code == 200 and on.json()["enabled"] is True
    assert manager.get("/patients/").status_code != 404


def test_the_foundation_cannot_be_switched_off(client_for, users):
    response = client_for("owner").put(
        "/api/modules/dashboard", {"enabled": False}, content_type="application/json"
    )
    assert response.status_code == 422 and "module" in response.json()["errors"]
    assert not ModuleSwitch.objects.exists()


def test_a_module_switch_is_audited(users):
    services.module_set_enabled(actor=users["owner"], module="scheduling", enabled=False)
    event = AuditEvent.objects.filter(object_type="core.moduleswitch").last()
    assert event.changes["after"]["enabled"] is False


# --- Authority limits -------------------------------------------------------------------------------


def _limit(role: str, kind: str = "purchase"):
    row = AuthorityLimit.objects.filter(role__code=role, kind=kind).first()
    return row.amount if row else Decimal("0")


def _limits_form(client: Client, **changes) -> dict:
    page = client.get(reverse("core:authority_limits"))
    form = page.context["form"]
    data = {
        name: "" if form[name].value() is None else str(form[name].value()) for name in form.fields
    }
    data["form_token"] = page.context["form_token"]
    data.update(changes)
    return data


def test_the_owner_sets_limits_blank_meaning_no_limit(client_for, users):
    owner = client_for("owner")
    data = _limits_form(owner, **{"manager.purchase": "7500.00", "manager.refund": "",
                                  "biller.purchase": "25"})  # fmt: skip
    response = owner.post(reverse("core:authority_limits"), data)
    assert response.status_code == 302
    assert _limit("manager") == Decimal("7500.00")
    assert _limit("manager", "refund") is None  # no limit
    assert _limit("biller") == Decimal("25.00")
    assert services.authority_of(users["biller"], "purchase") == Decimal("25.00")


def test_a_manager_cannot_raise_a_limit_above_their_own(client_for, users):
    manager = client_for("manager")
    before = list(AuthorityLimit.objects.order_by("pk").values_list("role__code", "kind", "amount"))
    data = _limits_form(manager, **{"manager.purchase": "9000.00", "front_desk.purchase": "50.00"})
    response = manager.post(reverse("core:authority_limits"), data)
    assert response.status_code == 422
    assert "beyond your own authority" in response.context["form"].errors["manager.purchase"][0]
    assert (
        list(AuthorityLimit.objects.order_by("pk").values_list("role__code", "kind", "amount"))
        == before
    )


def test_a_manager_cannot_touch_the_owners_limits(users):
    with pytest.raises(NotPermitted):
        services.authority_limits_set(
            actor=users["manager"], limits={("owner", "purchase"): Decimal("1")}
        )
    assert _limit("owner") is None


def test_a_manager_lowers_a_limit_within_their_authority(users):
    services.authority_limits_set(
        actor=users["manager"], limits={("front_desk", "purchase"): Decimal("60")}
    )
    assert _limit("front_desk") == Decimal("60.00")


@pytest.mark.parametrize("amount", ["-5", "abc", "1.234"])
def test_bad_amounts_are_refused(client_for, users, amount):
    owner = client_for("owner")
    response = owner.post(
        reverse("core:authority_limits"), _limits_form(owner, **{"biller.refund": amount})
    )
    assert response.status_code == 422
    assert "biller.refund" in response.context["form"].errors
    assert _limit("biller", "refund") == Decimal("200.00")


def test_limits_through_the_api(client_for, users):
    owner = client_for("owner")
    response = owner.put("/api/practice/limits", [{"role": "clinician", "kind": "purchase", "amount": "75.50"}],
                         content_type="application/json")  # fmt: skip
    assert response.status_code == 200
    assert {"role": "clinician", "kind": "purchase", "amount": "75.50"} in response.json()
    bad = owner.put("/api/practice/limits", [{"role": "janitor", "kind": "purchase", "amount": "1"}],
                    content_type="application/json")  # fmt: skip
    assert bad.status_code == 422 and "janitor.purchase" in bad.json()["errors"]


def test_a_manager_cannot_grant_more_money_authority_than_their_own(client_for, users):
    from medoffice.core.models import AuthorityLimit, DecisionKind, Role

    spender = Role.objects.create(code="big_spender", name="Big spender")
    AuthorityLimit.objects.create(role=spender, kind=DecisionKind.PURCHASE, amount=None)
    member = users["front_desk"]
    response = client_for("manager").post(
        reverse("core:staff_roles", args=[member.pk]), {"roles": ["big_spender"]}
    )
    assert response.status_code == 422
    assert "more than yours" in response.context["roles_form"].errors["roles"][0]
    assert list(member.roles.values_list("code", flat=True)) == ["front_desk"]
