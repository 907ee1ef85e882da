from django.apps import AppConfig

from medoffice.core.modules import Module


class CoreConfig(AppConfig):
    name = "medoffice.core"
    label = "core"
    verbose_name = "Practice and security"
    medoffice_module = Module(
        code="practice",
        label="Practice",
        url_prefix="practice",
        nav_url="core:practice",
        nav_permissions=("core.manage_practice", "core.manage_users", "core.view_audit"),
        switchable=False,
        order=900,
    )

    def ready(self) -> None:
        from medoffice.core import permissions

        permissions.register(self.label, permissions.Perm)

        from medoffice.core import signals  # noqa: F401  (audit capture and login events)
