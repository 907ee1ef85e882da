"""The registries core owns and the apps fill in: permissions and dashboard tiles."""

from __future__ import annotations

from enum import StrEnum

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from medoffice.core import permissions, tile_registry
from medoffice.core.models import Role, RolePermission
from medoffice.core.tile_registry import Tile, TileProvider


class _Throwaway(StrEnum):
    LOOK = "throwaway.look"
    TOUCH = "throwaway.touch"


@pytest.fixture
def throwaway_app():
    yield "throwaway"
    permissions.unregister("throwaway")


def test_an_app_registers_its_permissions_and_can_register_them_again(throwaway_app):
    assert not permissions.is_registered("throwaway.look")
    permissions.register(throwaway_app, _Throwaway)
    permissions.register(throwaway_app, _Throwaway)  # a second ready() changes nothing
    mine = [p for p in permissions.registered() if p.app_label == throwaway_app]
    assert [(p.codename, p.name) for p in mine] == [
        ("throwaway.look", "LOOK"),
        ("throwaway.touch", "TOUCH"),
    ]
    permissions.unregister(throwaway_app)
    assert not permissions.is_registered("throwaway.look")


def test_two_apps_cannot_declare_one_codename(throwaway_app):
    class Clash(StrEnum):
        VIEW = "patients.view"

    with pytest.raises(ImproperlyConfigured, match=r"patients\.view"):
        permissions.register(throwaway_app, Clash)
    owner = {p.codename: p.app_label for p in permissions.registered()}["patients.view"]
    assert owner == "patients"
    assert not [p for p in permissions.registered() if p.app_label == throwaway_app]


def test_a_codename_names_its_app(throwaway_app):
    class Bare(StrEnum):
        VIEW = "view"

    with pytest.raises(ImproperlyConfigured, match=r"app\.action"):
        permissions.register(throwaway_app, Bare)


def test_every_app_with_a_module_registered_permissions():
    """Each app that shows in the navigation declared the permissions that show it."""
    by_app: dict[str, set[str]] = {}
    for permission in permissions.registered():
        by_app.setdefault(permission.app_label, set()).add(permission.codename)
    for config in apps.get_app_configs():
        module = getattr(config, "medoffice_module", None)
        if module is None:
            continue
        assert config.label in by_app, f"{config.label} registered no permissions"
        known = set().union(*by_app.values())
        assert set(module.nav_permissions) <= known, config.label


@pytest.mark.django_db
def test_every_granted_permission_is_registered_and_the_owner_holds_them_all():
    """The roles' grants (data migrations) and the apps' declarations say the same thing."""
    registered = {p.codename for p in permissions.registered()}
    granted = set(RolePermission.objects.values_list("codename", flat=True))
    assert granted, "the migrations grant permissions to the roles"
    assert granted - registered == set(), "a role holds a permission no app declares"
    owner = set(Role.objects.get(code="owner").permissions.values_list("codename", flat=True))
    assert registered - owner == set(), "the owner lacks a declared permission"
    manager = set(Role.objects.get(code="manager").permissions.values_list("codename", flat=True))
    assert registered - manager == OWNER_ONLY, "the manager's permissions changed"


# What the owner alone decides: reopening closed books.
OWNER_ONLY = {"ledger.reopen_period"}


def _one_tile(user) -> list[Tile]:
    return [Tile("Throwaway", "1")]


def test_tile_providers_register_once_in_their_order():
    late = TileProvider("throwaway", ("throwaway.look",), _one_tile, order=10_000)
    early = TileProvider("throwaway", ("throwaway.look",), _one_tile, order=-1)
    try:
        tile_registry.register(late)
        tile_registry.register(late)
        tile_registry.register(early)
        listed = tile_registry.providers()
        assert listed.count(late) == 1
        assert listed[0] == early and listed[-1] == late
    finally:
        tile_registry.unregister(late)
        tile_registry.unregister(early)
    assert late not in tile_registry.providers() and early not in tile_registry.providers()


def test_the_apps_tiles_are_registered_with_core():
    modules = {provider.module for provider in tile_registry.providers()}
    assert {"dashboard", "patients", "scheduling", "reception"} <= modules
