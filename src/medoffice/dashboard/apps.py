from django.apps import AppConfig

from medoffice.core.modules import Module


class DashboardConfig(AppConfig):
    name = "medoffice.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
    medoffice_module = Module(
        code="dashboard", label="Dashboard", url_prefix="dashboard", nav_url="dashboard:home",
        nav_permissions=("dashboard.view",), switchable=False, order=0,
    )  # fmt: skip

    def ready(self) -> None:
        from medoffice.core import permissions
        from medoffice.dashboard.permissions import DashboardPerm

        permissions.register(self.label, DashboardPerm)

        from medoffice.dashboard import core_tiles  # noqa: F401
