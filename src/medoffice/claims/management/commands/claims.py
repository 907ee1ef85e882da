"""`medoffice claims submit FILE... [--clearinghouse NAME]` and `medoffice claims collect
[--clearinghouse NAME]`, run as the user named with --as."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from medoffice.core import maintenance
from medoffice.core.exceptions import InvalidInput
from medoffice.core.management.commands._ops import OpsCommand


def _acting_user():
    from medoffice.core.capture import ActorRequired
    from medoffice.core.context import current_actor
    from medoffice.core.models import User

    actor = current_actor()
    user = User.objects.filter(pk=actor.user_id, is_active=True).first() if actor.user_id else None
    if user is None:
        raise ActorRequired("the clearinghouse mailbox")
    return user


def _clearinghouse(name: str):
    from medoffice.claims import mailbox_selectors as selectors

    if name:
        found = selectors.clearinghouse_named(name)
        if found is None:
            known = ", ".join(c.name for c in selectors.clearinghouses()) or "none is set up"
            raise InvalidInput(f"--clearinghouse: there is no clearinghouse named {name!r} "
                               f"(known: {known}).", field="clearinghouse")  # fmt: skip
        return found
    active = list(selectors.active_clearinghouses()[:2])
    if len(active) != 1:
        raise InvalidInput(
            "--clearinghouse: name the clearinghouse to send to "
            + ("(none is active)." if not active else "(more than one is active)."),
            field="clearinghouse",
        )
    return active[0]


class Command(OpsCommand):
    help = (
        "Claims: `submit FILE...` sends files to a clearinghouse's mailbox (each name at most "
        "once); `collect` picks up and files its answers. Both need --as USERNAME."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        submit = actions.add_parser("submit", help="send files to the clearinghouse")
        submit.add_argument("files", nargs="+", metavar="FILE")
        submit.add_argument("--clearinghouse", default="", metavar="NAME")
        batch = actions.add_parser("batch", help="write the 837P file of all ready claims")
        batch.add_argument("--out", required=True, metavar="DIR")
        batch.add_argument("--clearinghouse", default="", metavar="NAME")
        batch.add_argument("--submit", action="store_true", help="also send it")
        collect = actions.add_parser("collect", help="collect and file the answers")
        collect.add_argument(
            "--clearinghouse", default="", metavar="NAME", help="default: every active one"
        )

    def run(self, *args, action, **options):
        maintenance.require_migrated()
        if action == "submit":
            self._submit(options["files"], options.get("clearinghouse") or "")
        elif action == "collect":
            self._collect(options.get("clearinghouse") or "")
        elif action == "batch":
            self._batch(options["out"], options.get("clearinghouse") or "", options["submit"])

    def _batch(self, out: str, name: str, submit: bool) -> None:
        from medoffice.claims import batches
        from medoffice.claims import mailbox_selectors as selectors

        user = _acting_user()
        folder = Path(out)
        if not folder.is_dir():
            raise InvalidInput(f"--out: {out} is not a folder.", field="out")
        house = _clearinghouse(name) if (name or submit) else None
        if house is None and selectors.active_clearinghouses().count() == 1:
            house = selectors.active_clearinghouses().first()
        exchange = batches.clearinghouse_exchange(house) if house else batches.practice_exchange()
        batch = batches.batch_build(actor=user, exchange=exchange)
        path = folder / batch.file_name
        path.write_bytes(bytes(batch.content))
        self.stdout.write(
            f"{path}: {batch.claim_count} claim(s), "
            f"${batch.total_charge_cents // 100:,}.{batch.total_charge_cents % 100:02d}, "
            f"interchange {batch.interchange_control_number:09d}."
        )
        if submit and house is not None:
            submission = batches.batch_submit(actor=user, batch=batch, clearinghouse=house)
            if submission.status != "sent":
                raise CommandError(f"{batch.file_name} was not sent: {submission.error}")
            self.stdout.write(f"{batch.file_name}: sent to {house.name}.")

    def _submit(self, files: list[str], name: str) -> None:
        from medoffice.claims import mailbox_selectors as selectors
        from medoffice.claims import mailbox_services as services
        from medoffice.claims.models import SubmissionStatus

        user = _acting_user()
        clearinghouse = _clearinghouse(name)
        contents = []
        for file in files:
            path = Path(file)
            try:
                contents.append((path.name, path.read_bytes()))
            except OSError as exc:
                raise InvalidInput(f"{file}: {exc.strerror or 'cannot be read'}.",
                                   field="files") from None  # fmt: skip
        recorded = {
            file_name: _check_sendable(file_name, content) for file_name, content in contents
        }
        failed = 0
        for file_name, content in contents:
            batch = recorded[file_name]
            if batch is not None:  # the batch's own send: once, to its receiver, recorded
                from medoffice.claims.batch_jobs import resend_batch

                self.stdout.write(f"{file_name}: " + resend_batch(
                    actor=user, batch_id=batch.pk, clearinghouse=clearinghouse))  # fmt: skip
                continue
            before = selectors.submission_named(clearinghouse, file_name)
            submission = services.submit_file(
                actor=user, clearinghouse=clearinghouse, name=file_name, content=content
            )
            if submission.status == SubmissionStatus.FAILED:
                failed += 1
                self.stdout.write(f"{file_name}: not sent to {clearinghouse.name}: "
                                  f"{submission.error}")  # fmt: skip
            elif before is not None and before.status != SubmissionStatus.FAILED:
                self.stdout.write(
                    f"{file_name}: already submitted to {clearinghouse.name} "
                    f"({submission.get_status_display().lower()}); not sent again."
                )
            else:
                self.stdout.write(f"{file_name}: sent to {clearinghouse.name} "
                                  f"({submission.size} bytes, sha256 {submission.sha256[:12]}).")  # fmt: skip
        if failed:
            raise CommandError(f"{failed} of {len(contents)} file(s) could not be sent")

    def _collect(self, name: str) -> None:
        from medoffice.claims import mailbox_selectors as selectors
        from medoffice.claims import mailbox_services as services

        user = _acting_user()
        targets = [_clearinghouse(name)] if name else list(selectors.active_clearinghouses())
        if not targets:
            raise InvalidInput("There is no active clearinghouse to collect from.",
                               field="clearinghouse")  # fmt: skip
        problems = 0
        for clearinghouse in targets:
            result = services.collect(actor=user, clearinghouse=clearinghouse)
            self.stdout.write(result.summary())
            for receipt in result.filed:
                note = f" ({receipt.handler_error})" if receipt.handler_error else ""
                self.stdout.write(f"  filed {receipt.name}: {receipt.get_kind_display()}{note}")
            for file_name, problem in result.failed:
                self.stdout.write(f"  not collected {file_name}: {problem}")
            for file_name, problem in result.not_tidied:
                self.stdout.write(f"  left in the inbound folder {file_name}: {problem}")
            problems += 0 if result.ok else 1
        if problems:
            raise CommandError(f"{problems} clearinghouse(s) could not be fully collected")


SENT_KINDS = frozenset({"270", "276"})  # what a practice sends besides its claim batches


def _check_sendable(file_name: str, content: bytes) -> Any:
    """The recorded batch `content` is (it goes by the batch's own send), or None for another
    file a practice sends (a 270 or 276); anything else is refused before any file is sent: a
    mistyped path must not send a patient export, a hand-edited claim file or a payer's answer
    to an outside party."""
    import hashlib

    from medoffice.claims.models import ClaimBatch
    from medoffice.x12 import X12Error, read

    try:
        document = read(content)
    except X12Error as exc:
        raise InvalidInput(
            f"{file_name} is not an X12 file that reads ({exc}): nothing was sent.", field="files"
        ) from None
    kinds = {transaction.kind for transaction in document.transactions()}
    if not kinds:
        raise InvalidInput(f"{file_name} holds no transaction: nothing was sent.", field="files")
    batch = ClaimBatch.objects.filter(sha256=hashlib.sha256(content).hexdigest()).first()
    if batch is not None:
        return batch
    if "837P" in kinds or "unknown" in kinds:
        raise InvalidInput(
            f"{file_name} is not a batch medoffice built (no batch has its SHA-256): send claims "
            "with `medoffice claims batch --submit` or from the batches page. Nothing was sent.",
            field="files",
        )
    if not kinds <= SENT_KINDS:
        raise InvalidInput(
            f"{file_name} holds {', '.join(sorted(kinds - SENT_KINDS))}: an answer comes from a "
            "payer or clearinghouse and is not sent to one. Nothing was sent.",
            field="files",
        )
    return None
