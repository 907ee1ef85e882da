from __future__ import annotations

from medoffice.core import demo, maintenance
from medoffice.core.exceptions import Conflict
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = "Load the generated demo practice (seeded: the same seed gives the same data)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument("--size", choices=demo.SIZES, default="small")
        parser.add_argument(
            "--reset", action="store_true", help="erase the current DEMO practice first"
        )

    def run(self, *, seed, size, reset, **options):
        maintenance.check_connection()
        if reset:
            reset_demo()
        maintenance.migrate()
        result = demo.load_demo(seed=seed, size=size)
        total = sum(result.seconds.values())
        self.stdout.write(
            f"Loaded the demo practice {result.practice.legal_name} "
            f"(seed {seed}, {size}) in {total:.1f} s."
        )
        for note in result.notes:
            self.stdout.write(f"Note: {note}")
        write_logins(self.stdout, result)


def reset_demo() -> None:
    from medoffice.core.models import Practice

    if maintenance.database_has_data():
        practice = Practice.objects.order_by("pk").first()
        if practice is None or not practice.is_demo:
            name = practice.legal_name if practice else "users and records without a practice"
            raise Conflict(
                f"--reset only replaces a demo practice, and this database holds real data ({name})"
            )
    maintenance.wipe_database()
    maintenance.wipe_media()


def write_logins(stdout, result) -> None:
    stdout.write("Sign in as any of these, with the password " + repr(result.password) + ":")
    for line in result.login_lines():
        stdout.write(line)
