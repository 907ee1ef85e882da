from django.apps import AppConfig

from medoffice.core.modules import Module


class LedgerConfig(AppConfig):
    name = "medoffice.ledger"
    label = "ledger"
    verbose_name = "Books"
    medoffice_module = Module(
        code="ledger",
        label="Books",
        url_prefix="ledger",
        nav_url="ledger:home",
        nav_permissions=("ledger.view",),
        order=60,
        api_prefixes=("ledger",),
    )

    def ready(self) -> None:
        from medoffice.core import db_guards, permissions
        from medoffice.ledger import guards, record_panels, sources, tiles  # noqa: F401
        from medoffice.ledger.permissions import LedgerPerm

        permissions.register(self.label, LedgerPerm)
        db_guards.register(guards.LEDGER_GUARD)

        from medoffice.core.models import DecisionKind
        from medoffice.core.services import on_approval_decided
        from medoffice.ledger.services import manual

        on_approval_decided(DecisionKind.JOURNAL_ENTRY, manual.on_decided)
        record_panels.register()

        from medoffice.ledger.merge import transfer_patient_account
        from medoffice.ledger.models import JournalLine
        from medoffice.patients.services import on_merge

        on_merge(JournalLine, transfer_patient_account)
