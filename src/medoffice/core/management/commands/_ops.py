"""What the operations commands share: domain errors become one CommandError line."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError

from medoffice.core.exceptions import MedofficeError


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OpsCommand(BaseCommand, metaclass=ABCMeta):
    """handle() runs `run()`; expected failures end as one clear line, not a traceback."""

    requires_migrations_checks = False
    requires_system_checks = []

    def handle(self, *args, **options):
        try:
            return self.run(*args, **options)
        except MedofficeError as exc:
            raise CommandError(exc.message) from exc
        except DatabaseError as exc:
            raise CommandError(f"database error: {first_line(exc)}") from exc

    @abstractmethod
    def run(self, *args, **options):
        """The command's work; expected failures raise MedofficeError."""
