from django.apps import AppConfig

from medoffice.core.modules import Module


class CodingConfig(AppConfig):
    name = "medoffice.coding"
    label = "coding"
    verbose_name = "Coding"
    medoffice_module = Module(
        code="coding",
        label="Coding",
        url_prefix="coding",
        nav_url="coding:home",
        nav_permissions=("coding.view",),
        order=70,
        api_prefixes=("coding",),
    )

    def ready(self) -> None:
        from medoffice.coding import demo
        from medoffice.coding.permissions import CodingPerm
        from medoffice.core import permissions

        permissions.register(self.label, CodingPerm)
        demo.register()
