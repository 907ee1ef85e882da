"""The clearinghouse mailbox's rules: its settings, sending a file at most once, and filing
each answer once (docs/adr/0019-clearinghouse-mailbox.md).

- A submission's row is inserted (and committed) before its file goes out; the unique
  (clearinghouse, name) is the at-most-once key, so a second submission of a name, at the
  same moment or later, returns the first record and sends nothing. Only a submission that
  failed is tried again.
- A receipt is inserted under the unique (clearinghouse, name, SHA-256) before its file is
  archived or deleted: however many collections run at once, each answer is filed once.
- The 999, 277CA, 835… processors register with `on_receipt(kind, handler)`; each handler
  runs for a new receipt inside a savepoint of the filing transaction, and a handler that
  fails leaves its error on the receipt (the file stays filed).

Do not call `submit_file` or `collect` inside a transaction of your own: the claims they
make must be committed before the files move.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import asyncssh
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

import medoffice
from medoffice import paths, x12
from medoffice.claims.mailbox import MailboxConfig, MailboxError, check_name, open_transport
from medoffice.claims.mailbox.base import folder_clash, too_big
from medoffice.claims.mailbox.folder import allowed_path
from medoffice.claims.models import (
    AfterCollect,
    Clearinghouse,
    MailboxReceipt,
    MailboxSubmission,
    ReceiptKind,
    SecretKind,
    SubmissionStatus,
    TransportKind,
    receipt_path,
)
from medoffice.claims.permissions import ClaimsPerm
from medoffice.core.access import require_perm
from medoffice.core.audit_keys import AUDIT_KEYS_FILE
from medoffice.core.context import binds_actor
from medoffice.core.exceptions import Conflict, InvalidInput, MedofficeError
from medoffice.core.models import User

logger = logging.getLogger(__name__)

ReceiptHandler = Callable[[MailboxReceipt, bytes], None]
_handlers: dict[str, list[ReceiptHandler]] = {}

ISA_QUALIFIERS = ("01", "14", "20", "27", "28", "29", "30", "33", "ZZ")
_ISA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .\-]{0,14}$")
_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")
MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
RECEIPT_KINDS = {
    "999": ReceiptKind.ACK_999,
    "277CA": ReceiptKind.CLAIM_ACK_277CA,
    "277": ReceiptKind.STATUS_277,
    "835": ReceiptKind.REMITTANCE_835,
    "271": ReceiptKind.ELIGIBILITY_271,
}


class MailboxUnavailable(MedofficeError):
    """The clearinghouse's mailbox could not be used; the message says why, in words."""

    code = "mailbox_unavailable"
    status = 502


# --- Hooks for the processors of answers ----------------------------------------------------


def on_receipt(kind: str, handler: ReceiptHandler) -> None:
    """Call `handler(receipt, content)` for every new receipt of `kind` (999, 277CA, 835…)."""
    if kind not in ReceiptKind.values:
        raise ValueError(f"unknown receipt kind {kind!r}; one of {', '.join(ReceiptKind.values)}")
    listed = _handlers.setdefault(kind, [])
    if handler not in listed:
        listed.append(handler)


def forget_receipt_handler(kind: str, handler: ReceiptHandler) -> None:
    if handler in _handlers.get(kind, []):
        _handlers[kind].remove(handler)


# --- Settings -------------------------------------------------------------------------------


def folder_root() -> str:
    """The folder every folder clearinghouse's folders must lie in (MEDOFFICE_MAILBOX_FOLDERS)."""
    configured = getattr(settings, "MEDOFFICE_MAILBOX_FOLDERS", "")
    return str(Path(configured).resolve()) if configured else ""


def max_bytes() -> int:
    """The largest file collected (MEDOFFICE_MAILBOX_MAX_BYTES)."""
    return int(getattr(settings, "MEDOFFICE_MAILBOX_MAX_BYTES", 50 * 1024 * 1024))


def protected_paths() -> tuple[str, ...]:
    """What no folder clearinghouse's folder may be, hold or lie inside: the data folder's
    database and keys, the stored files, the static and mail folders, and the code."""
    data = Path(settings.DATA_DIR)
    found = [data / name for name in (paths.SECRET_KEY_FILE, paths.FIELD_KEYS_FILE,
                                      AUDIT_KEYS_FILE, paths.SQLITE_FILE)]  # fmt: skip
    found += [data / "files", data / "static", data / "outbox"]
    for database in settings.DATABASES.values():
        if str(database.get("ENGINE", "")).endswith("sqlite3"):
            for name in (database.get("NAME"), (database.get("TEST") or {}).get("NAME")):
                if name and str(name) != ":memory:":
                    found.append(Path(name))
    for extra in ("MEDIA_ROOT", "STATIC_ROOT", "EMAIL_FILE_PATH"):
        if getattr(settings, extra, None):
            found.append(Path(getattr(settings, extra)))
    found.append(Path(medoffice.__file__).resolve().parent)  # the code
    with_journals = []
    for path in found:
        with_journals.append(str(path))
        if path.name.endswith(".sqlite3"):
            with_journals += [f"{path}-wal", f"{path}-shm", f"{path}-journal"]
    return tuple(dict.fromkeys(with_journals))


def config_for(clearinghouse: Clearinghouse, *, timeout: float = 30.0) -> MailboxConfig:
    """The transport's view of a clearinghouse's settings (the secret decrypted here only)."""
    key = clearinghouse.secret_kind == SecretKind.PRIVATE_KEY
    return MailboxConfig(
        kind=clearinghouse.transport,
        outbound=clearinghouse.outbound_path,
        inbound=clearinghouse.inbound_path,
        host=clearinghouse.host,
        port=clearinghouse.port,
        username=clearinghouse.username,
        password="" if key else clearinghouse.secret,
        private_key=clearinghouse.secret if key else "",
        host_key=clearinghouse.host_key,
        after_collect=clearinghouse.after_collect,
        archive=clearinghouse.archive_path,
        timeout=timeout,
        max_bytes=max_bytes(),
        folder_root=folder_root(),
        protected=protected_paths(),
    )


def normalize_host_key(text: str) -> str:
    """The server's public key as "type base64 [comment]", from a key line or a known_hosts line
    ("host,1.2.3.4 ssh-ed25519 AAAA..."); raises ValueError when it is not a public key."""
    words = text.strip().split()
    start = next((i for i, w in enumerate(words) if w.startswith(_KEY_TYPES)), None)
    if start is None or start + 1 >= len(words):
        raise ValueError("no key type (such as ssh-ed25519) followed by the key")
    line = " ".join(words[start : start + 2])
    asyncssh.import_public_key(line)  # raises KeyImportError (a ValueError) when unreadable
    return line


def _path_errors(value: str, what: str, transport: str) -> str | None:
    if not value:
        return f"Give the {what} folder."
    if len(value) > 500 or "\x00" in value:
        return f"The {what} folder path is too long or holds a character paths cannot."
    if transport == TransportKind.FOLDER:
        if not (PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()):
            return f"Give the {what} folder as a full path (starting with / or a drive)."
        try:
            allowed_path(value, what, root=folder_root(), protected=protected_paths())
        except MailboxError as exc:
            return exc.message
    return None


def _text(value: object) -> str:
    return str(value if value is not None else "").strip()


@transaction.atomic
@binds_actor("actor")
def clearinghouse_save(
    *,
    actor: User,
    clearinghouse: Clearinghouse | None = None,
    name: str,
    transport: str,
    host: str = "",
    port: int | str = 22,
    username: str = "",
    secret: str | None = None,
    secret_kind: str = SecretKind.PASSWORD,
    host_key: str = "",
    outbound_path: str,
    inbound_path: str,
    archive_path: str = "",
    after_collect: str = AfterCollect.KEEP,
    submitter_qualifier: str = "ZZ",
    submitter_id: str = "",
    receiver_qualifier: str = "ZZ",
    receiver_id: str = "",
    is_active: bool = True,
) -> Clearinghouse:
    """Create (clearinghouse=None) or change a clearinghouse. A blank `secret` on a change keeps
    the stored one; every bad field is named at once and nothing is written."""
    require_perm(actor, ClaimsPerm.MANAGE_CLEARINGHOUSE)
    errors: dict[str, list[str]] = {}

    def bad(field_name: str, message: str) -> None:
        errors.setdefault(field_name, []).append(message)

    name, transport, host = _text(name), _text(transport), _text(host)
    username, host_key = _text(username), _text(host_key)
    outbound_path, inbound_path = _text(outbound_path), _text(inbound_path)
    archive_path, after_collect = _text(archive_path), _text(after_collect)
    secret = (secret or "").strip() or None
    if not name:
        bad("name", "Give the clearinghouse a name.")
    elif len(name) > 100:
        bad("name", "The name is longer than 100 characters.")
    elif (
        Clearinghouse.objects.filter(name__iexact=name)
        .exclude(pk=getattr(clearinghouse, "pk", None))
        .exists()
    ):
        bad("name", f"Another clearinghouse is already named {name!r}.")
    if transport not in TransportKind.values:
        bad("transport", "Choose how files travel: an SFTP server or a folder.")
    if after_collect not in AfterCollect.values:
        bad("after_collect", "Choose what happens to a collected file: keep, archive or delete.")
    if secret_kind not in SecretKind.values:
        bad("secret_kind", "Choose whether the secret is a password or a private key.")
    try:
        port_number = int(str(port).strip() or "22")
    except ValueError:
        port_number = 0
    stored_key = ""
    if transport == TransportKind.SFTP:
        if not host:
            bad("host", "Give the SFTP server's host name or address.")
        elif len(host) > 255 or any(c.isspace() for c in host):
            bad("host", f"{host!r} is not a host name or address.")
        if not 1 <= port_number <= 65535:
            bad("port", f"The port must be a number from 1 to 65535, not {port!r}.")
        if not username:
            bad("username", "Give the user name the clearinghouse assigned.")
        elif len(username) > 100:
            bad("username", "The user name is longer than 100 characters.")
        if not host_key:
            bad(
                "host_key",
                "Paste the server's public key as the clearinghouse publishes it "
                "(ssh-ed25519 AAAA…): without it no connection is made.",
            )
        else:
            try:
                stored_key = normalize_host_key(host_key)
            except ValueError:
                bad(
                    "host_key",
                    "The host key cannot be read: paste a line such as 'ssh-ed25519 AAAA…' "
                    "(or the server's known_hosts line).",
                )
        has_secret = secret is not None or bool(clearinghouse and clearinghouse.secret)
        if not has_secret:
            bad("secret", "Give the password or private key the clearinghouse assigned.")
        elif secret is not None and secret_kind == SecretKind.PRIVATE_KEY:
            try:
                asyncssh.import_private_key(secret)
            except (asyncssh.KeyImportError, ValueError):
                bad(
                    "secret",
                    "The private key cannot be read: an unencrypted OpenSSH or PEM key is "
                    "expected.",
                )
        elif secret is not None and secret.startswith("-----BEGIN"):
            bad("secret_kind", "The secret is a private key: choose 'Private key'.")
    else:
        port_number = 22
    for value, what, key in (
        (outbound_path, "outbound", "outbound_path"),
        (inbound_path, "inbound", "inbound_path"),
    ):
        problem = _path_errors(value, what, transport)
        if problem:
            bad(key, problem)
    folders = [("outbound", outbound_path), ("inbound", inbound_path)]
    if after_collect == AfterCollect.ARCHIVE:
        problem = _path_errors(archive_path, "archive", transport)
        if problem:
            bad("archive_path", problem)
        folders.append(("archive", archive_path))
    # Apart, none inside another (an inbound folder holding the outbound one would collect
    # our own submissions); only the folders with no problem of their own are compared.
    clash = folder_clash(
        [(what, path) for what, path in folders if f"{what}_path" not in errors],
        local=transport == TransportKind.FOLDER,
    )
    if clash is not None:
        bad(f"{clash.second}_path", clash.message)
    for qualifier, ident, q_field, id_field, who in (
        (submitter_qualifier, submitter_id, "submitter_qualifier", "submitter_id", "submitter"),
        (receiver_qualifier, receiver_id, "receiver_qualifier", "receiver_id", "receiver"),
    ):
        qualifier, ident = _text(qualifier).upper(), _text(ident)
        if qualifier not in ISA_QUALIFIERS:
            bad(q_field, f"The {who} id qualifier must be one of {', '.join(ISA_QUALIFIERS)}.")
        if ident and not _ISA_ID.match(ident):
            bad(
                id_field,
                f"The {who} id must be 1 to 15 letters, digits, spaces, dots or dashes.",
            )
    if errors:
        first_field, first_messages = next(iter(errors.items()))
        raise InvalidInput(first_messages[0], field=first_field, errors=errors)

    target = clearinghouse or Clearinghouse()
    target.name = name
    target.transport = transport
    target.host = host if transport == TransportKind.SFTP else ""
    target.port = port_number
    target.username = username if transport == TransportKind.SFTP else ""
    target.host_key = stored_key
    if transport == TransportKind.FOLDER:
        target.secret = ""
    elif secret is not None:
        target.secret = secret
    target.secret_kind = secret_kind
    target.outbound_path = outbound_path
    target.inbound_path = inbound_path
    target.archive_path = archive_path
    target.after_collect = after_collect
    target.submitter_qualifier = _text(submitter_qualifier).upper()
    target.submitter_id = _text(submitter_id)
    target.receiver_qualifier = _text(receiver_qualifier).upper()
    target.receiver_id = _text(receiver_id)
    target.is_active = bool(is_active)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise InvalidInput(
            f"Another clearinghouse is already named {name!r}.", field="name"
        ) from None
    return target


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str


def test_connection(*, actor: User | None, clearinghouse: Clearinghouse) -> ConnectionCheck:
    """Connect and look at both folders; what was found (or what went wrong) in words."""
    if actor is not None:
        require_perm(actor, ClaimsPerm.MANAGE_CLEARINGHOUSE)
    try:
        transport = open_transport(config_for(clearinghouse, timeout=15.0))
    except MailboxError as exc:
        return ConnectionCheck(False, exc.message)
    try:
        return ConnectionCheck(True, transport.check())
    except MailboxError as exc:
        return ConnectionCheck(False, exc.message)
    finally:
        transport.close()


# --- Submitting -----------------------------------------------------------------------------


def _same_file(existing: MailboxSubmission, name: str, digest: str) -> MailboxSubmission:
    if existing.name != name:
        raise Conflict(
            f"This idempotency key was used for {existing.name}, not {name}.",
            field="idempotency_key",
        )
    if existing.sha256 != digest:
        raise Conflict(
            f"A different file was already submitted as {name} "
            f"({existing.get_status_display().lower()}); give this one another name.",
            field="name",
        )
    return existing


def _claim_submission(
    *,
    actor: User | None,
    clearinghouse: Clearinghouse,
    name: str,
    digest: str,
    size: int,
    idempotency_key: str,
) -> tuple[MailboxSubmission, bool]:
    """The submission row for `name`, and whether this call may send the file."""
    for _ in range(2):
        found = MailboxSubmission.objects.filter(clearinghouse=clearinghouse, name=name).first()
        if found is None and idempotency_key:
            found = MailboxSubmission.objects.filter(
                clearinghouse=clearinghouse, idempotency_key=idempotency_key
            ).first()
        if found is not None:
            _same_file(found, name, digest)
            if found.status != SubmissionStatus.FAILED:
                return found, False
            # A failed one is tried again by whichever call flips it back to "sending" first.
            retried = MailboxSubmission.objects.filter(
                pk=found.pk, status=SubmissionStatus.FAILED
            ).update(
                status=SubmissionStatus.SENDING, error="", attempts=F("attempts") + 1,
                sent_by=actor,
            )  # fmt: skip
            found.refresh_from_db()
            return found, bool(retried)
        try:
            with transaction.atomic():
                return MailboxSubmission.objects.create(
                    clearinghouse=clearinghouse, name=name, sha256=digest, size=size,
                    idempotency_key=idempotency_key, status=SubmissionStatus.SENDING,
                    sent_by=actor,
                ), True  # fmt: skip
        except IntegrityError:
            continue  # another call inserted it first: read theirs
    raise Conflict(f"{name} is being submitted by someone else; look again in a moment.")


@binds_actor("actor")
def submit_file(
    *,
    actor: User | None,
    clearinghouse: Clearinghouse,
    name: str,
    content: bytes,
    idempotency_key: str = "",
    permission: str = ClaimsPerm.SUBMIT,
) -> MailboxSubmission:
    """Send `content` as `name` to the clearinghouse's outbound folder, at most once.

    A name already submitted (or being submitted) returns its record and sends nothing; a
    failure is recorded on the submission (status failed, the error in words) and returned.
    `actor` None is the system (a periodic job). `permission` is what the actor needs: sending
    claims by default, or the narrower right of the file's own service (a 270 needs only
    CHECK_ELIGIBILITY).
    """
    if actor is not None:
        require_perm(actor, permission)
    try:
        check_name(name)
    except MailboxError as exc:
        raise InvalidInput(exc.message, field="name") from None
    if not content:
        raise InvalidInput(f"{name} is empty: there is nothing to submit.", field="content")
    if len(content) > MAX_SUBMISSION_BYTES:
        raise InvalidInput(
            f"{name} is {len(content) / 1048576:.0f} MB; the limit is "
            f"{MAX_SUBMISSION_BYTES // 1048576} MB.",
            field="content",
        )
    idempotency_key = _text(idempotency_key)
    if len(idempotency_key) > 100:
        raise InvalidInput("The idempotency key is longer than 100 characters.",
                           field="idempotency_key")  # fmt: skip
    if not clearinghouse.is_active:
        raise InvalidInput(f"{clearinghouse.name} is switched off: nothing is sent to it.",
                           field="clearinghouse")  # fmt: skip
    digest = hashlib.sha256(content).hexdigest()
    submission, mine = _claim_submission(
        actor=actor, clearinghouse=clearinghouse, name=name, digest=digest,
        size=len(content), idempotency_key=idempotency_key,
    )  # fmt: skip
    if not mine:
        return submission
    try:
        transport = open_transport(config_for(clearinghouse))
        try:
            transport.send(name, content)
        finally:
            transport.close()
    except MailboxError as exc:
        _finish(submission, SubmissionStatus.FAILED, exc.message)
        return submission
    except BaseException:
        _finish(submission, SubmissionStatus.FAILED, "Sending stopped by an unexpected error.")
        raise
    _finish(submission, SubmissionStatus.SENT, "")
    return submission


def _finish(submission: MailboxSubmission, status: str, error: str) -> None:
    submission.status = status
    submission.error = error
    submission.sent_at = timezone.now() if status == SubmissionStatus.SENT else None
    submission.save(update_fields=["status", "error", "sent_at"])


# --- Collecting -----------------------------------------------------------------------------


@dataclass
class CollectResult:
    clearinghouse: Clearinghouse
    filed: list[MailboxReceipt] = field(default_factory=list)
    already_filed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, what went wrong)
    not_tidied: list[tuple[str, str]] = field(default_factory=list)  # filed, not archived/deleted
    error: str = ""  # the mailbox itself could not be read

    @property
    def ok(self) -> bool:
        return not self.error and not self.failed

    def summary(self) -> str:
        if self.error:
            return f"{self.clearinghouse.name}: nothing collected: {self.error}"
        parts = [f"{len(self.filed)} new file(s) filed"]
        if self.already_filed:
            parts.append(f"{len(self.already_filed)} already filed")
        if self.failed:
            parts.append(f"{len(self.failed)} could not be fetched")
        if self.not_tidied:
            parts.append(f"{len(self.not_tidied)} left in the inbound folder")
        return f"{self.clearinghouse.name}: " + ", ".join(parts) + "."


_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_SET_KIND = re.compile(r"^[0-9]{3}[A-Z]{0,2}$")  # 999, 277CA…
_DIGITS = re.compile(r"\d{4,}")  # control numbers and the like, read from the file
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _reader_error(exc: x12.X12Error) -> str:
    """What the X12 reader said, without any of the file's own characters (quoted bits)."""
    where = f"segment {exc.segment_number}" if exc.segment_number else "the start"
    if exc.segment_id and _SEGMENT_ID.match(exc.segment_id):
        where += f" ({exc.segment_id})"
    said = _DIGITS.sub("[…]", _QUOTED.sub("[…]", exc.message))
    return f"{where}: {said}"[:300]


def _what_it_is(content: bytes) -> str:
    text = b"\x00" not in content[:4096]
    if text:
        try:
            content[:4096].decode("utf-8")
        except UnicodeDecodeError as exc:
            text = exc.start >= 4090  # a character cut at the edge of the sample
    digest = hashlib.sha256(content).hexdigest()
    return f"{'text' if text else 'binary'}, {len(content)} bytes, sha256 {digest}"


def detect_kind(content: bytes) -> tuple[str, str]:
    """The receipt kind from the X12 transaction sets (ST01), and a note when it is not X12.

    The note never holds the file's own content (a file that is not X12 may be anything): only
    what it is (text or binary, size, SHA-256) and what the reader found wrong.
    """
    if not content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISA"):
        return ReceiptKind.OTHER, (
            f"Not X12 ({_what_it_is(content)}): it does not begin with an ISA interchange header."
        )
    try:
        kinds = {t.kind for t in x12.read(content).transactions()}
    except x12.X12Error as exc:
        return (
            ReceiptKind.OTHER,
            f"Not readable as X12 ({_what_it_is(content)}): {_reader_error(exc)}",
        )
    except Exception as exc:
        logger.exception("the X12 reader failed on a collected file")
        return ReceiptKind.OTHER, (
            f"Not readable as X12 ({_what_it_is(content)}): {type(exc).__name__}"
        )
    mapped = {RECEIPT_KINDS[k] for k in kinds if k in RECEIPT_KINDS}
    if len(mapped) == 1 and len(kinds) == 1:
        return mapped.pop(), ""
    if not kinds:
        return ReceiptKind.OTHER, "The interchange holds no transaction set."
    named = sorted(k if _SET_KIND.match(k) else "[…]" for k in kinds)
    return ReceiptKind.OTHER, "Transaction sets: " + ", ".join(named)


def _run_handlers(receipt: MailboxReceipt, content: bytes) -> None:
    handlers = list(_handlers.get(receipt.kind, ()))
    if not handlers:
        return
    problems = []
    for handler in handlers:
        try:
            with transaction.atomic():
                handler(receipt, content)
        except Exception as exc:
            logger.warning("receipt handler %r failed on %s", handler, receipt.name, exc_info=True)
            what = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            problems.append(f"{getattr(handler, '__qualname__', handler)}: {what}")
    receipt.processed = not problems
    receipt.processed_at = timezone.now() if not problems else None
    receipt.handler_error = "\n".join(problems)[:5000]
    receipt.save(update_fields=["processed", "processed_at", "handler_error"])


def _filed_already(key: dict[str, object]) -> bool:
    """A cheap look first (the unique constraint decides; race tests switch this off)."""
    return MailboxReceipt.objects.filter(**key).exists()


def _file_receipt(
    *, actor: User | None, clearinghouse: Clearinghouse, name: str, content: bytes
) -> MailboxReceipt | None:
    """File one answer, or None when it is filed already (the unique key decides)."""
    digest = hashlib.sha256(content).hexdigest()
    key = {"clearinghouse": clearinghouse, "name": name, "sha256": digest}
    if _filed_already(key):
        return None
    kind, detail = detect_kind(content)
    storage = MailboxReceipt._meta.get_field("file").storage
    # Stored before the row (the trail reads the file when the row is saved); a collection
    # that loses the race for the row removes its copy.
    stored = storage.save(receipt_path(clearinghouse, name), ContentFile(content))
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    receipt = MailboxReceipt.objects.create(
                        **key, size=len(content), kind=kind, detail=detail, received_by=actor,
                        file=stored,
                    )  # fmt: skip
            except IntegrityError:
                storage.delete(stored)
                return None  # filed by another collection meanwhile
            _run_handlers(receipt, content)
    except BaseException:
        storage.delete(stored)
        raise
    return receipt


@binds_actor("actor")
def collect(*, actor: User | None, clearinghouse: Clearinghouse) -> CollectResult:
    """Fetch every inbound file, file each once, then keep, archive or delete it as set.

    A file that cannot be fetched is reported and the others are still collected; a run
    after a run collects nothing new. `actor` None is the system (the periodic job).
    """
    if actor is not None:
        require_perm(actor, ClaimsPerm.SUBMIT)
    result = CollectResult(clearinghouse)
    if not clearinghouse.is_active:
        result.error = "it is switched off."
        return result
    try:
        transport = open_transport(config_for(clearinghouse))
    except MailboxError as exc:
        result.error = exc.message
        return result
    try:
        try:
            listing = transport.list_inbound()
        except MailboxError as exc:
            result.error = exc.message
            return result
        limit = max_bytes()
        for remote in listing:
            if remote.problem:
                result.failed.append((remote.name, remote.problem))
                continue
            if remote.size > limit:  # not fetched, and so never archived or deleted
                result.failed.append(
                    (remote.name, too_big(remote.name, remote.size, limit).message)
                )
                continue
            try:
                content = transport.fetch(remote.name)
            except MailboxError as exc:
                result.failed.append((remote.name, exc.message))
                continue
            receipt = _file_receipt(
                actor=actor, clearinghouse=clearinghouse, name=remote.name, content=content
            )
            if receipt is None:
                result.already_filed.append(remote.name)
            else:
                result.filed.append(receipt)
            if clearinghouse.after_collect == AfterCollect.KEEP:
                continue
            try:
                transport.done_with(remote.name)
            except (MailboxError, OSError) as exc:
                result.not_tidied.append((remote.name, getattr(exc, "message", None) or str(exc)))
    finally:
        transport.close()
    return result


def collect_all(*, actor: User | None = None) -> list[CollectResult]:
    """Collect from every active clearinghouse (the periodic job); one's failure stops no other."""
    results = []
    for clearinghouse in Clearinghouse.objects.filter(is_active=True).order_by("pk"):
        result = collect(actor=actor, clearinghouse=clearinghouse)
        if result.error or result.failed:
            logger.warning("mailbox collection: %s", result.summary())
        results.append(result)
    return results
