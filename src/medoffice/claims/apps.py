from django.apps import AppConfig

from medoffice.core.modules import Module


class ClaimsConfig(AppConfig):
    name = "medoffice.claims"
    label = "claims"
    verbose_name = "Claims"
    medoffice_module = Module(
        code="claims",
        label="Claims",
        url_prefix="claims",
        nav_url="claims:home",
        nav_permissions=("claims.view", "claims.code_own"),
        order=75,
        api_prefixes=("claims",),
    )

    def ready(self) -> None:
        from medoffice.claims import demo, ledger_sources, record_panels, response_handlers
        from medoffice.claims.permissions import ClaimsPerm
        from medoffice.core import permissions

        permissions.register(self.label, ClaimsPerm)
        ledger_sources.register_all()
        record_panels.register()
        response_handlers.register()
        demo.register()
