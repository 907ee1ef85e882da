from __future__ import annotations

import getpass
import sys
from pathlib import Path

from medoffice.core import maintenance
from medoffice.core.exceptions import InvalidInput
from medoffice.core.management.commands._ops import OpsCommand


class Command(OpsCommand):
    help = "Create a user with the owner role (and access to the Django admin)."

    def add_arguments(self, parser):
        parser.add_argument("--username")
        parser.add_argument("--password-file", help="read the password from the first line")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def run(self, *, username, password_file, email, first_name, last_name, **options):
        from medoffice.core.capture import ActorRequired
        from medoffice.core.context import SYSTEM, acting_as, current_actor
        from medoffice.core.models import User

        maintenance.require_migrated()
        actor = current_actor()
        first = not User.objects.exists()
        if actor.requires_user:
            if not first:
                raise ActorRequired("creating a user")
            actor = SYSTEM  # the first account of a new installation: nobody else to name
        with acting_as(actor):
            user = self._create(username, password_file, email, first_name, last_name)
        if first:
            from medoffice.core.first_run import run_first_owner_steps

            for line in run_first_owner_steps(user):
                self.stdout.write(line)

    def _create(self, username, password_file, email, first_name, last_name):
        from medoffice.core.services import user_create

        interactive = sys.stdin is not None and sys.stdin.isatty()
        if not username:
            if not interactive:
                raise InvalidInput("give --username (no terminal to ask on)", field="username")
            username = input("Username: ").strip()
        if password_file:
            try:
                lines = Path(password_file).read_text().splitlines()
            except OSError as exc:
                raise InvalidInput(
                    f"cannot read the password file {password_file}: {exc.strerror}",
                    field="password",
                ) from exc
            password = lines[0] if lines else ""
        elif interactive:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise InvalidInput("the two passwords differ", field="password")
        else:
            raise InvalidInput("give --password-file (no terminal to ask on)", field="password")
        user = user_create(
            actor=None,
            username=username,
            password=password,
            role_codes=["owner"],
            email=email,
            first_name=first_name,
            last_name=last_name,
        )
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        self.stdout.write(f"Created {user.username} with the owner role.")
        return user
