"""The `medoffice` command: parses arguments and hands each subcommand to its management command.

Expected failures (an unreachable database, a bad backup file, a taken port…) print one
line to stderr and exit non-zero; anything else Django knows runs as `medoffice manage …`.

`--as USERNAME` (anywhere on the line) names the user the command acts for; the audit trail
records that user. The operations commands (serve, migrate, demo, worker, backup, restore,
audit, rotate-keys) act as the system; any other command run without --as may read but is
refused before it writes a practice record.
"""

from __future__ import annotations

import argparse
import os
import sys

from medoffice import __version__

PROG = "medoffice"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The medical office manager's system. Data folder: $MEDOFFICE_DATA (default ./var).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--as",
        metavar="USERNAME",
        help="the user this command acts for (recorded in the audit trail); "
        "required by commands that write practice records",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve", help="migrate, then serve the web application (gunicorn, several processes)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: 2 x cores + 1)"
    )
    serve.add_argument("--threads", type=int, default=4, help="threads per worker process")
    serve.add_argument(
        "--no-worker", action="store_true",
        help="do not start the background worker beside the server (one runs elsewhere)",
    )  # fmt: skip
    serve.add_argument(
        "--demo", action="store_true", help="load the demo practice if there is no practice yet"
    )

    sub.add_parser("migrate", help="create or upgrade the database tables")

    demo = sub.add_parser("demo", help="load the generated demo practice")
    demo.add_argument("--seed", type=int, default=None, help="same seed, same data")
    demo.add_argument("--size", choices=("small", "large"), default="small")
    demo.add_argument("--reset", action="store_true", help="erase the current demo practice first")

    admin = sub.add_parser("createadmin", help="create a user with the owner role")
    admin.add_argument("--username")
    admin.add_argument("--password-file", help="read the password from this file's first line")
    admin.add_argument("--email", default="")

    worker = sub.add_parser("worker", help="run background jobs and enqueue the periodic ones")
    worker.add_argument("--batch", action="store_true", help="run what is queued, then exit")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    worker.add_argument("--no-schedule", action="store_true", help="skip the periodic jobs")

    backup = sub.add_parser("backup", help="write a backup zip (database and stored files)")
    backup.add_argument("file")
    backup.add_argument("--force", action="store_true", help="overwrite an existing file")

    restore = sub.add_parser("restore", help="restore a backup zip into this installation")
    restore.add_argument("file")
    restore.add_argument(
        "--force", action="store_true", help="replace a database that already holds data"
    )

    audit = sub.add_parser("audit", help="audit trail tools")
    audit.add_argument(
        "action",
        choices=["verify", "seal", "checkpoint", "new-key"],
        help="verify: seal, then check the hash chain; seal: chain new events; checkpoint: "
        "print a signed line to keep elsewhere; new-key: print a line for MEDOFFICE_AUDIT_KEYS",
    )
    audit.add_argument(
        "--checkpoint", default="", metavar="LINE", help="verify: nothing up to it changed"
    )

    rotate = sub.add_parser("rotate-keys", help="re-encrypt encrypted fields under a new key")
    rotate.add_argument("--drop-old", action="store_true", help="then remove the old keys")
    rotate.add_argument(
        "--resume", action="store_true", help="finish an interrupted rotation (no new key)"
    )
    rotate.add_argument(
        "--wait", type=float, default=None, metavar="SECONDS",
        help="how long to wait for running processes to load the new key",
    )  # fmt: skip
    rotate.add_argument(
        "--status", action="store_true", help="show the key epoch and the processes using keys"
    )
    rotate.add_argument(
        "--generate", action="store_true", help="only print a new key (for MEDOFFICE_FIELD_KEYS)"
    )

    ledger = sub.add_parser("ledger", help="the books: trial balance, close a month, verify")
    ledger.add_argument(
        "action",
        choices=["trial-balance", "close-period", "verify"],
        help="trial-balance: every account's balance; close-period YYYY-MM: close a month "
        "(needs --as); verify: every entry balances and nothing closed changed",
    )
    ledger.add_argument("period", nargs="?", default="", help="close-period: the month, YYYY-MM")
    ledger.add_argument("--as-of", default="", metavar="DATE", help="trial-balance: YYYY-MM-DD")
    ledger.add_argument("--csv", action="store_true", help="trial-balance: print CSV")

    x12 = sub.add_parser("x12", help="X12 files: what a file holds (read-only)")
    x12.add_argument(
        "action", choices=["read"], help="read FILE: interchanges, transactions, claims"
    )
    x12.add_argument("file")
    x12.add_argument("--json", action="store_true", help="print JSON (amounts as strings)")

    from medoffice.cli_codes import add_codes_arguments

    codes = sub.add_parser(
        "codes", help="code sets: load CMS and CPT files or the shipped tables; search codes"
    )
    add_codes_arguments(codes.add_subparsers(dest="codes_action", required=True, metavar="ACTION"))

    claims = sub.add_parser(
        "claims", help="claims: submit files to the clearinghouse, collect answers"
    )
    claims_actions = claims.add_subparsers(dest="action", metavar="ACTION", required=True)
    claims_submit = claims_actions.add_parser(
        "submit", help="send files to the clearinghouse's mailbox, each name at most once (--as)"
    )
    claims_submit.add_argument("files", nargs="+", metavar="FILE")
    claims_submit.add_argument("--clearinghouse", default="", metavar="NAME",
                               help="default: the one active clearinghouse")  # fmt: skip
    claims_batch = claims_actions.add_parser(
        "batch", help="write the 837P file of all ready claims into DIR (--as)"
    )
    claims_batch.add_argument("--out", required=True, metavar="DIR")
    claims_batch.add_argument("--clearinghouse", default="", metavar="NAME",
                              help="whose ids go in the envelope (default: the one active)")  # fmt: skip
    claims_batch.add_argument("--submit", action="store_true", help="also send it")
    claims_collect = claims_actions.add_parser(
        "collect", help="collect the clearinghouse's answers and file each once (--as)"
    )
    claims_collect.add_argument("--clearinghouse", default="", metavar="NAME",
                                help="default: every active clearinghouse")  # fmt: skip
    claims_scrub = claims_actions.add_parser(
        "scrub", help="scrub draft, held and rejected claims and print the findings (--as)"
    )
    claims_scrub.add_argument("--all", action="store_true", help="ready claims too")

    manage = sub.add_parser("manage", help="run any Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


COMMANDS = {
    "serve", "migrate", "demo", "createadmin", "worker", "backup", "restore", "audit",
    "rotate-keys", "manage", "ledger", "x12", "codes", "claims",
}  # fmt: skip
# Commands that act as the system unless --as names a user (requests and jobs they run
# name their own actors).
SYSTEM_COMMANDS = {
    "serve",
    "migrate",
    "demo",
    "worker",
    "backup",
    "restore",
    "audit",
    "rotate-keys",
}


def _split_as(argv: list[str]) -> tuple[list[str], str | None]:
    """Take `--as USERNAME` / `--as=USERNAME` out of the arguments (before `manage`'s own)."""
    rest: list[str] = []
    username = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--as":
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                raise SystemExit(_fail("--as needs a username", code=2))
            username = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--as="):
            username = arg.split("=", 1)[1]
            i += 1
            continue
        rest.append(arg)
        i += 1
    return rest, username


def _cli_actor(command: str, username: str | None):
    """The actor this command line runs as (see the module docstring)."""
    from medoffice.core.context import CLI_UNNAMED, SYSTEM, Actor
    from medoffice.core.exceptions import InvalidInput
    from medoffice.core.models import User

    if username is None:
        return SYSTEM if command in SYSTEM_COMMANDS else CLI_UNNAMED
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(f"--as {username}: there is no active user of that name", field="as")
    return Actor(user_id=user.pk, username=user.get_username(), user_agent="medoffice command line")


# These work on an installation that exists; where there is none they say so and create nothing.
NEEDS_INSTALLATION = {
    "createadmin", "worker", "backup", "audit", "rotate-keys", "ledger", "codes", "claims",
}  # fmt: skip


def _call(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    from medoffice.core import maintenance

    command = args.command
    if command == "migrate":
        applied = maintenance.migrate(verbosity=0)
        print(
            f"Applied {applied} migration(s) to the {maintenance.describe_database()}."
            if applied
            else f"The {maintenance.describe_database()} is up to date."
        )
    elif command == "serve":
        call_command(
            "serve",
            host=args.host,
            port=args.port,
            workers=args.workers,
            threads=args.threads,
            demo=args.demo,
            no_worker=args.no_worker,
        )
    elif command == "demo":
        options = {"size": args.size, "reset": args.reset}
        if args.seed is not None:
            options["seed"] = args.seed
        call_command("demo", **options)
    elif command == "createadmin":
        call_command(
            "createadmin",
            username=args.username,
            password_file=args.password_file,
            email=args.email,
        )
    elif command == "worker":
        call_command(
            "worker", batch=args.batch, interval=args.interval, no_schedule=args.no_schedule
        )
    elif command in ("backup", "restore"):
        call_command(command, args.file, force=args.force)
    elif command == "audit":
        call_command("audit", args.action, checkpoint=args.checkpoint)
    elif command == "ledger":
        call_command("ledger", args.action, args.period, as_of=args.as_of, csv=args.csv)
    elif command == "x12":
        call_command("x12", args.action, args.file, json=args.json)
    elif command == "codes":
        from medoffice.cli_codes import codes_argv

        call_command("codes", *codes_argv(args, args.codes_action))
    elif command == "claims" and args.action == "scrub":
        call_command("claims_scrub", all=args.all)
    elif command == "claims":
        call_command("claims", *_claims_arguments(args))
    elif command == "rotate-keys":
        call_command(
            "rotate_keys",
            drop_old=args.drop_old,
            resume=args.resume,
            wait=args.wait,
            status=args.status,
            generate=args.generate,
        )


def _claims_arguments(args: argparse.Namespace) -> list[str]:
    """The `claims` management command's arguments, from its subcommand's."""
    arguments = [args.action, *getattr(args, "files", [])]
    if getattr(args, "clearinghouse", ""):
        arguments += ["--clearinghouse", args.clearinghouse]
    if getattr(args, "out", ""):
        arguments += ["--out", args.out]
    if getattr(args, "submit", False):
        arguments.append("--submit")
    return arguments


def _no_sqlite_installation(data) -> bool:
    """Without DATABASE_URL the installation is the data folder's SQLite file."""
    from medoffice import paths

    return not os.environ.get("DATABASE_URL") and not (data / paths.SQLITE_FILE).exists()


def _database_installed() -> bool:
    from django.db import connection

    from medoffice.core import maintenance

    maintenance.check_connection()
    return "django_migrations" in connection.introspection.table_names()


def _no_installation_message(data) -> str:
    where = "the database at DATABASE_URL" if os.environ.get("DATABASE_URL") else str(data)
    return (
        f"there is no medoffice installation in {where}: "
        f"run `{PROG} migrate` (or `{PROG} serve`) first, or set MEDOFFICE_DATA"
    )


def _remove_created_data_folder(data) -> None:
    """Undo what reading the settings created (the data folder and its first-run keys)."""
    import shutil

    shutil.rmtree(data, ignore_errors=True)


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    argv, as_username = _split_as(list(sys.argv[1:] if argv is None else argv))
    passed_through = bool(argv) and not argv[0].startswith("-") and argv[0] not in COMMANDS
    if passed_through:
        argv = ["manage", *argv]  # any other Django command
    args = _parser().parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medoffice.settings")
    from medoffice import paths

    data = paths.data_dir_path()
    data_existed = data.exists()
    from django.conf import settings as django_settings

    if (
        args.command in NEEDS_INSTALLATION
        and not django_settings.configured  # (already set up when called from inside Django)
        and _no_sqlite_installation(data)
    ):
        return _fail(_no_installation_message(data))
    try:
        import django

        try:
            django.setup()
        except Exception as exc:  # settings read the environment: say what is wrong
            return _fail(
                f"configuration error: {_expected(exc) or str(exc).strip().splitlines()[0]}"
            )
        if args.command in NEEDS_INSTALLATION and not _database_installed():
            if not data_existed:
                _remove_created_data_folder(data)
            return _fail(_no_installation_message(data))
        from medoffice.core.context import acting_as

        with acting_as(_cli_actor(args.command, as_username)):
            if args.command == "manage":
                from django.core.management import execute_from_command_line, get_commands

                if passed_through and args.rest[0] not in get_commands():
                    return _fail(f"unknown command {args.rest[0]!r}; see `{PROG} --help`", code=2)
                execute_from_command_line([f"{PROG} manage", *args.rest])
                return 0
            _call(args)
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # expected kinds become one line; others re-raise
        message = _expected(exc)
        if message is None:
            raise
        return _fail(message)


def _expected(exc: BaseException) -> str | None:
    """The one line to print for an expected failure, or None for a bug (keep the traceback)."""
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.base import CommandError
    from django.db import Error as DatabaseError

    from medoffice.core.exceptions import MedofficeError

    def first(text: str) -> str:
        text = text.strip()
        return text.splitlines()[0] if text else type(exc).__name__

    if isinstance(exc, CommandError | MedofficeError):
        return first(str(exc))
    if isinstance(exc, DatabaseError):
        return "database error: " + first(str(exc))
    if isinstance(exc, ImproperlyConfigured):
        return "configuration error: " + first(str(exc))
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or first(str(exc))}{where}"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
