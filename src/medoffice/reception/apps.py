from django.apps import AppConfig

from medoffice.core.modules import Module


class ReceptionConfig(AppConfig):
    name = "medoffice.reception"
    label = "reception"
    verbose_name = "Reception"
    medoffice_module = Module(
        code="reception",
        label="Front desk",
        url_prefix="reception",
        nav_url="reception:flow_board",
        nav_permissions=("reception.view_flow", "reception.check_in"),
        order=30,
        api_prefixes=("reception",),
    )

    def ready(self) -> None:
        from medoffice.core import permissions
        from medoffice.reception.permissions import ReceptionPerm

        permissions.register(self.label, ReceptionPerm)

        from medoffice.core.middleware import register_token_link_prefix
        from medoffice.core.models import DecisionKind
        from medoffice.core.services import on_approval_decided

        register_token_link_prefix("/reception/wall/")  # the screens; not wall-displays/

        from medoffice.reception import demo, home, ledger_sources, record_panels, stages, tiles  # noqa: F401
        from medoffice.reception.services import refund_decided

        on_approval_decided(DecisionKind.REFUND, refund_decided)
        home.register()
        ledger_sources.register_all()
        record_panels.register()
        stages.register()
