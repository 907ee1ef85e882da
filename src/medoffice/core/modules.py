"""The module registry: what each domain app contributes to navigation and switching.

Each domain app's AppConfig sets `medoffice_module`; core never imports the apps themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from medoffice.core.memo import once_per_request


@dataclass(frozen=True)
class Module:
    code: str
    label: str
    url_prefix: str  # pages under /<prefix>/ and the API under /api/<prefix>/
    nav_url: str  # URL name of the module's first page
    nav_permissions: tuple[str, ...] = ()  # any of these shows it in the navigation
    switchable: bool = True
    order: int = 100
    api_prefixes: tuple[str, ...] = field(default=())


def all_modules() -> list[Module]:
    found = [
        config.medoffice_module
        for config in apps.get_app_configs()
        if getattr(config, "medoffice_module", None) is not None
    ]
    return sorted(found, key=lambda module: (module.order, module.code))


def module_for_path(path: str) -> Module | None:
    """The switchable module that owns a URL path, for pages and API alike."""
    for module in all_modules():
        if not module.switchable:
            continue
        api_roots = [f"/api/{prefix}" for prefix in (module.api_prefixes or (module.url_prefix,))]
        if path.startswith(f"/{module.url_prefix}/") or any(
            path == root or path.startswith(root + "/") for root in api_roots
        ):
            return module
    return None


def enabled_codes() -> set[str]:
    return set(_enabled_codes())


@once_per_request
def _enabled_codes() -> frozenset[str]:
    from medoffice.core.models import ModuleSwitch

    disabled = set(ModuleSwitch.objects.filter(enabled=False).values_list("module", flat=True))
    return frozenset(
        {
            module.code
            for module in all_modules()
            if module.code not in disabled or not module.switchable
        }
    )


def is_enabled(code: str) -> bool:
    return code in enabled_codes()
