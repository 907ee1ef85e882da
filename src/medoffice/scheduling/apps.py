from django.apps import AppConfig

from medoffice.core.modules import Module


class SchedulingConfig(AppConfig):
    name = "medoffice.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"
    medoffice_module = Module(
        code="scheduling",
        label="Schedule",
        url_prefix="scheduling",
        nav_url="scheduling:day",
        nav_permissions=("scheduling.view", "scheduling.view_own"),
        order=20,
        api_prefixes=("appointments", "slots", "scheduling"),
    )

    def ready(self) -> None:
        from medoffice.core import permissions
        from medoffice.scheduling.permissions import SchedulingPerm

        permissions.register(self.label, SchedulingPerm)

        from medoffice.scheduling import demo, record_panels, tiles  # noqa: F401  (dashboard tiles)

        demo.register()
        record_panels.register()
