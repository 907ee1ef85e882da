"""`medoffice codes import-hcpcs | import-cpt | import-ncci | import-mpfs | load-defaults | search`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from medoffice.cli_codes import add_codes_arguments
from medoffice.core import maintenance
from medoffice.core.exceptions import InvalidInput
from medoffice.core.management.commands._ops import OpsCommand


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--effective: {text!r} is not a date such as 2024-07-01.", field="effective"
        ) from None


def _read(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(f"{path}: there is no such file.", field="file")
    return file.read_bytes()


class Command(OpsCommand):
    help = (
        "Code sets: import-hcpcs FILE, import-cpt FILE --map ..., import-ncci {ptp,mue,add-on} "
        "FILE, import-mpfs {rvu,gpci} FILE, import-pos FILE, load-defaults (these need --as "
        "USERNAME with permission to import code sets), search TEXT [--icd10|--procedure]."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add_codes_arguments(sub)

    def run(self, *args, action, **options):
        maintenance.require_migrated()
        if action == "search":
            self._search(" ".join(options["text"]), options)
            return
        from medoffice.coding import imports

        actor = self._user()
        if action == "load-defaults":
            for result in imports.load_defaults(actor=actor):
                self.stdout.write(str(result))
            return
        data = _read(options["file"])
        name = Path(options["file"]).name
        if action == "import-pos":
            result = imports.import_places_of_service(data=data, source_name=name, actor=actor)
        else:
            dated = {"label": options["label"], "effective": _day(options["effective"])}
            if action == "import-hcpcs":
                result = imports.import_hcpcs(data=data, source_name=name, actor=actor, **dated)
            elif action == "import-cpt":
                result = imports.import_cpt(data=data, source_name=name, actor=actor,
                                            column_map=options["column_map"], **dated)  # fmt: skip
            elif action == "import-ncci":
                result = imports.import_ncci(table=options["table"], data=data,
                                             source_name=name, actor=actor, **dated)  # fmt: skip
            else:
                result = imports.import_mpfs(table=options["table"], data=data,
                                             source_name=name, actor=actor, **dated)  # fmt: skip
        kind = result.release.get_kind_display() if result.release else result.label
        self.stdout.write(f"Loaded {kind}: {result}.")

    def _user(self):
        from medoffice.core.capture import ActorRequired
        from medoffice.core.context import current_actor
        from medoffice.core.models import User

        actor = current_actor()
        user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
        if user is None:
            raise ActorRequired("loading code sets")
        return user

    def _search(self, text: str, options) -> None:
        from medoffice.coding import selectors

        limit = max(1, min(options.get("limit") or 20, 200))
        found = 0
        if not options.get("procedure"):
            for code in selectors.icd10_search(text, limit=limit):
                found += 1
                mark = "billable" if code.billable else "header  "
                self.stdout.write(f"ICD-10-CM  {code.code:<8} {mark} {code.description}")
        if not options.get("icd10"):
            for proc in selectors.procedure_search(text, limit=limit):
                found += 1
                self.stdout.write(f"{proc.system:<10} {proc.code:<8} {proc.short_description}")
        if not found:
            self.stdout.write(f"No code matches {text!r}.")
