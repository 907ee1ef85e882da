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
        from medoffice.coding import demo, imports
        from medoffice.coding.permissions import CodingPerm
        from medoffice.core import permissions
        from medoffice.core.first_run import register_first_owner_step

        permissions.register(self.label, CodingPerm)
        demo.register()
        register_first_owner_step(
            "shipped code tables",
            imports.load_defaults_for_first_owner,
            instead="medoffice codes load-defaults --as OWNER",
        )
