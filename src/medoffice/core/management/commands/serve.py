from __future__ import annotations

from medoffice import __version__
from medoffice.core import maintenance
from medoffice.core.exceptions import MedofficeError
from medoffice.core.management.commands._ops import OpsCommand
from medoffice.core.management.commands.demo import write_logins


class Command(OpsCommand):
    help = "Migrate the database and serve medoffice with waitress."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--demo", action="store_true", help="load the demo practice if there is no practice"
        )

    def run(self, *, host, port, threads, demo, **options):
        import waitress
        from django.core.wsgi import get_wsgi_application

        from medoffice.core import demo as demo_data
        from medoffice.core.models import Practice

        maintenance.migrate()
        if demo:
            practice = Practice.objects.order_by("pk").first()
            if practice is None:
                result = demo_data.load_demo()
                self.stdout.write(f"Loaded the demo practice {result.practice.legal_name}.")
                write_logins(self.stdout, result)
            elif practice.is_demo:
                self.stdout.write(
                    f"The demo practice {practice.legal_name} is already loaded "
                    f"(demo logins use the password {demo_data.DEMO_PASSWORD!r})."
                )
            else:
                self.stdout.write(f"This database holds {practice.legal_name}: no demo loaded.")
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(
            f"medoffice {__version__} ({maintenance.describe_database()}) "
            f"at http://{shown}:{port}/  (Ctrl+C stops it)"
        )
        self.stdout.flush()
        try:
            server = waitress.create_server(  # type: ignore[attr-defined]  # exported; not in its stubs
                get_wsgi_application(), host=host, port=port, threads=threads, ident="medoffice"
            )
        except OSError as exc:
            raise MedofficeError(f"cannot listen on {shown}:{port}: {exc.strerror or exc}") from exc
        try:
            server.run()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            server.close()
