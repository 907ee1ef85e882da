"""The practice's charges and its payer contracts: every write and its rules.

Each service takes the acting user, checks `coding.manage_fees`, and runs in one transaction;
the audited models record their own events naming that user. A fee or a contract covers a
span of days: a new fee from a day ends the one before it the day before (and stops where
the next one starts), so a code's spans never overlap; one payer's contracts never overlap
either. Amounts are read by `medoffice.core.money` and kept as integer cents.

The two file imports (the fee schedule, a contract's rates) check every row before writing
any: each problem is named with its line and column and nothing is written. They take an
idempotency key: the same key again (per user) returns the first import and writes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from medoffice.coding.models import (
    CodeSystem,
    ContractBasis,
    ContractRate,
    Fee,
    FeeImport,
    FeeImportKind,
    MpfsGpci,
    PayerContract,
    PriorAuthRule,
    ProcedureCode,
)
from medoffice.coding.permissions import CodingPerm
from medoffice.core import audit
from medoffice.core.context import actor_for_service, binds_actor
from medoffice.core.dates import check_day
from medoffice.core.exceptions import Conflict, InvalidInput
from medoffice.core.formats import us_date
from medoffice.core.models import AuditAction, User
from medoffice.core.money import ZERO, MoneyError, to_decimal
from medoffice.core.role_permissions import require_perm
from medoffice.patients.models import Payer

# CPT (five digits; category II, III and lab codes end in F, T, U or M) or HCPCS Level II
# (a letter and four digits): "ZZZZZ" is neither.
CODE = re.compile(r"^(?:\d{5}|\d{4}[A-Z]|[A-Z]\d{4})$")
MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
MAX_PERCENT = Decimal("999.99")
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
ONE_DAY = timedelta(days=1)


# --- Reading what people typed ----------------------------------------------------------------


def clean_code(value: object, *, field: str = "code") -> str:
    text = str(value or "").strip().upper()
    if not CODE.match(text):
        raise InvalidInput(
            f"The code must be a CPT code (five digits, or four and a letter, such as 99213 or "
            f"0001U) or a HCPCS code (a letter and four digits, such as J1100), not "
            f"“{text[:20]}”.",
            field=field,
        )
    return text


def _require_known(code: str) -> None:
    """Once the practice has loaded its CPT (or HCPCS) codes, a fee is for one of them: a
    typo would set a charge no visit can bill. Before a set is loaded its codes cannot be told."""
    system = CodeSystem.HCPCS if code[0].isalpha() else CodeSystem.CPT
    loaded = ProcedureCode.objects.filter(system=system)
    if loaded.exists() and not loaded.filter(code=code).exists():
        raise InvalidInput(
            f"{code} is not in the {system.label} codes loaded: check the code, or load the "
            "code set that has it first.",
            field="code",
        )


def clean_modifier(value: object, *, field: str = "modifier") -> str:
    text = str(value or "").strip().upper()
    if text and not MODIFIER.match(text):
        raise InvalidInput(
            f"The modifier must be two letters or digits (such as 26 or TC), not “{text[:20]}”.",
            field=field,
        )
    return text


def cents_of(value: object, *, field: str, label: str) -> int:
    """Dollars and cents (text, Decimal or int) as integer cents; zero allowed."""
    try:
        amount = to_decimal(value, minimum=ZERO)
    except MoneyError as exc:
        raise InvalidInput(f"{label} {exc}.", field=field) from None
    return int(amount * 100)


def day_of(value: object, *, field: str, label: str) -> date:
    """A day given as a date, YYYY-MM-DD or MM/DD/YYYY."""
    if isinstance(value, datetime):
        raise InvalidInput(f"{label} must be a day, not a moment.", field=field)
    if isinstance(value, date):
        return check_day(value, field=field)
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(f"{label} is required.", field=field)
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            day = datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a day, no time)
        except ValueError:
            continue
        return check_day(day, field=field)
    raise InvalidInput(
        f"{label} “{text[:20]}” cannot be read as a date (write YYYY-MM-DD or MM/DD/YYYY).",
        field=field,
    )


def percent_of(value: object, *, field: str = "medicare_percent") -> Decimal:
    if isinstance(value, bool | float):
        raise InvalidInput("The percentage must be written as text, such as 110.", field=field)
    try:
        percent = Decimal(str(value).strip().removesuffix("%").strip())
    except InvalidOperation:
        raise InvalidInput(
            f"The percentage “{str(value)[:20]}” is not a number (write it as 110 or 92.5).",
            field=field,
        ) from None
    if not percent.is_finite() or percent <= 0 or percent > MAX_PERCENT:
        raise InvalidInput(
            "The percentage of the Medicare fee schedule must be more than 0 and at most "
            f"{MAX_PERCENT}.",
            field=field,
        )
    if percent != percent.quantize(Decimal("0.01")):
        raise InvalidInput("The percentage may have at most two decimals.", field=field)
    return percent.quantize(Decimal("0.01"))


# --- Fees -------------------------------------------------------------------------------------


def _lock_code(code: str, modifier: str) -> None:
    """Serialise the writers of one code's fees (PostgreSQL; SQLite's writes take turns)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(code, modifier)])


def _set_fee(*, code: str, modifier: str, charge_cents: int, start: date, actor: User) -> Fee:
    """Write one fee span: the caller holds the code's lock inside a transaction."""
    rows = Fee.objects.filter(code=code, modifier=modifier)
    same = rows.filter(effective_from=start).first()
    if same is not None:  # a correction of the fee from that day
        if same.charge_cents != charge_cents:
            same.charge_cents = charge_cents
            same.save(update_fields=["charge_cents"])
        return same
    before = rows.filter(effective_from__lt=start).order_by("-effective_from").first()
    after = rows.filter(effective_from__gt=start).order_by("effective_from").first()
    if before is not None and (before.effective_to is None or before.effective_to >= start):
        before.effective_to = start - ONE_DAY
        before.save(update_fields=["effective_to"])
    return Fee.objects.create(
        code=code,
        modifier=modifier,
        charge_cents=charge_cents,
        effective_from=start,
        effective_to=after.effective_from - ONE_DAY if after is not None else None,
        created_by=actor,
    )


@transaction.atomic
@binds_actor("actor")
def fee_set(
    *, actor: User, code: str, modifier: str = "", charge: object, effective_from: object
) -> Fee:
    """The practice's charge for `code` (+ `modifier`) from a day on.

    The fee in force before that day ends the day before; the new one runs until the next
    fee already set (or with no end). Setting a fee on a day a fee already starts corrects it.
    """
    require_perm(actor, CodingPerm.MANAGE_FEES)
    code = clean_code(code)
    _require_known(code)
    modifier = clean_modifier(modifier)
    cents = cents_of(charge, field="charge", label="The charge")
    start = day_of(effective_from, field="effective_from", label="The start date")
    _lock_code(code, modifier)
    try:
        with transaction.atomic():
            return _set_fee(code=code, modifier=modifier, charge_cents=cents, start=start,
                            actor=actor)  # fmt: skip
    except IntegrityError:  # another writer set the same start at the same moment
        with transaction.atomic():
            return _set_fee(code=code, modifier=modifier, charge_cents=cents, start=start,
                            actor=actor)  # fmt: skip


@transaction.atomic
@binds_actor("actor")
def fee_end(*, actor: User, fee: Fee, last_day: object) -> Fee:
    """Stop charging a fee after `last_day` (no fee applies until a new one is set)."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    end = day_of(last_day, field="effective_to", label="The last day")
    _lock_code(fee.code, fee.modifier)
    fee = Fee.objects.get(pk=fee.pk)
    if end < fee.effective_from:
        raise InvalidInput(
            f"The last day ({us_date(end)}) comes before the fee starts "
            f"({us_date(fee.effective_from)}).",
            field="effective_to",
        )
    if fee.effective_to is not None and end > fee.effective_to:
        raise InvalidInput(
            f"This fee already ends on {us_date(fee.effective_to)}: set a new fee to charge "
            "after that.",
            field="effective_to",
        )
    fee.effective_to = end
    fee.save(update_fields=["effective_to"])
    return fee


# --- File imports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    record: FeeImport
    replayed: bool  # True: the key had been used for this file; nothing was written again


def _file_bytes(data: bytes | str | Any) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes):
        return data
    if hasattr(data, "seek"):
        data.seek(0)
    return bytes(data.read(MAX_IMPORT_BYTES + 1))


def _rows(raw: bytes, columns: tuple[str, ...], required: set[str]) -> list[dict[str, Any]]:
    """The file's rows as dicts (with their line); the header must name the columns."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.", field="file"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "The file is not UTF-8 text (save it as CSV UTF-8).", field="file"
        ) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise InvalidInput(
            f"The file is empty: its first line must name the columns ({', '.join(columns)}).",
            field="file",
        )
    names = [cell.strip().lower() for cell in header]
    unknown = [name for name in names if name not in columns]
    missing = sorted(required - set(names))
    if unknown or missing:
        words = []
        if missing:
            words.append(
                f"it lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
            )
        if unknown:
            words.append(f"it has unknown columns {', '.join(unknown)}")
        raise InvalidInput(
            f"Line 1 (the header): {' and '.join(words)}; the columns are {', '.join(columns)}.",
            field="file",
        )
    rows: list[dict[str, Any]] = []
    for values in reader:
        if not any(cell.strip() for cell in values):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise InvalidInput(f"The file has more than {MAX_IMPORT_ROWS} rows.", field="file")
        row: dict[str, Any] = {"line": reader.line_num, "extra": len(values) > len(names)}
        for index, name in enumerate(names):
            row[name] = values[index].strip() if index < len(values) else ""
        rows.append(row)
    if not rows:
        raise InvalidInput("The file has a header but no rows.", field="file")
    return rows


def _problem(errors: list[str], line: int, column: str, exc: InvalidInput) -> None:
    errors.append(f"Line {line}, column {column}: {exc.message}")


def _refuse(errors: list[str]) -> None:
    if errors:
        shown = errors[:50]
        more = f" (and {len(errors) - 50} more)" if len(errors) > 50 else ""
        raise InvalidInput(
            f"Nothing was imported: {len(errors)} problem{'s' if len(errors) > 1 else ''} in "
            f"the file{more}. " + " ".join(shown),
            field="file",
            errors={"file": shown},
        )


def _earlier_import(
    actor: User, key: str, digest: str, kind: str, contract: PayerContract | None
) -> FeeImport | None:
    if not key:
        return None
    earlier = FeeImport.objects.filter(imported_by=actor, idempotency_key=key).first()
    if earlier is None:
        return None
    if (
        earlier.sha256 != digest
        or earlier.kind != kind
        or earlier.contract_id != (contract.pk if contract is not None else None)
    ):
        raise Conflict(
            f"This idempotency key was already used for another import (import {earlier.pk}); "
            "send a new key for a new file.",
            field="idempotency_key",
        )
    return earlier


def _claim_import(
    *, actor: User, key: str, digest: str, kind: str, contract: PayerContract | None,
    source_name: str, rows: int,
) -> FeeImport | None:  # fmt: skip
    """Insert the import's record first (its key is unique): None when another request with
    the same key got there first (then the caller replays it)."""
    try:
        with transaction.atomic():
            return FeeImport.objects.create(
                kind=kind,
                contract=contract,
                idempotency_key=key,
                source_name=source_name[:255],
                sha256=digest,
                row_count=rows,
                imported_by=actor,
            )
    except IntegrityError:
        if not key:
            raise
        return None


Reader = Callable[[object], Any]
CODE_READERS: dict[str, Reader] = {"code": clean_code, "modifier": clean_modifier}


def _checked_rows(
    raw: bytes,
    readers: dict[str, Reader],
    required: set[str],
    *,
    key: Callable[[dict[str, Any]], tuple[Any, ...]],
    twice: Callable[[int, dict[str, Any]], str],
) -> list[dict[str, Any]]:
    """Every row read by its columns' readers before anything is written. Each problem is
    named by line and column, a row repeating an earlier row's `key` by `twice(earlier line,
    values)`; any problem refuses the whole file."""
    errors: list[str] = []
    cleaned: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for row in _rows(raw, tuple(readers), required):
        line = row["line"]
        if row["extra"]:
            errors.append(f"Line {line}: it has more values than the header has columns.")
        values: dict[str, Any] = {}
        for column, read in readers.items():
            try:
                values[column] = read(row.get(column, ""))
            except InvalidInput as exc:
                _problem(errors, line, column, exc)
        if len(values) == len(readers):
            where = key(values)
            if where in seen:
                errors.append(f"Line {line}, " + twice(seen[where], values))
            seen[where] = line
            cleaned.append(values)
    _refuse(errors)
    return cleaned


def _import_once(
    *,
    actor: User,
    kind: str,
    contract: PayerContract | None,
    data: bytes | str | Any,
    source_name: str,
    idempotency_key: str,
    check: Callable[[bytes], list[dict[str, Any]]],
    what: str,
    description: Callable[[int], str],
    apply: Callable[[list[dict[str, Any]]], None],
) -> ImportResult:
    """The frame of both file imports: the same key again replays the first import; the file
    is checked whole; its record is inserted first (the unique key deciding between two
    requests racing) and the rows applied in the same audited unit."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    key = idempotency_key.strip()[:100]
    raw = _file_bytes(data)
    digest = hashlib.sha256(raw).hexdigest()
    earlier = _earlier_import(actor, key, digest, kind, contract)
    if earlier is not None:
        return ImportResult(earlier, replayed=True)
    rows = check(raw)
    with audit.unit(
        AuditAction.CREATE, actor=actor_for_service(actor), what=what,
        description=description(len(rows)), file=raw, counts={"rows": len(rows)},
    ):  # fmt: skip
        record = _claim_import(
            actor=actor, key=key, digest=digest, kind=kind, contract=contract,
            source_name=source_name, rows=len(rows),
        )  # fmt: skip
        if record is None:
            replay = _earlier_import(actor, key, digest, kind, contract)
            assert replay is not None
            return ImportResult(replay, replayed=True)
        apply(rows)
    return ImportResult(record, replayed=False)


def _with_modifier(code: str, modifier: str) -> str:
    return f"{code}-{modifier}" if modifier else code


@transaction.atomic
@binds_actor("actor")
def fee_schedule_import(
    *, actor: User, data: bytes | str | Any, source_name: str = "", idempotency_key: str = ""
) -> ImportResult:
    """Apply a fee schedule CSV (columns code, modifier, charge, effective_from): every row is
    checked first; on any problem nothing is written and each is named by line and column."""

    def check(raw: bytes) -> list[dict[str, Any]]:
        return _checked_rows(
            raw,
            {
                **CODE_READERS,
                "charge": lambda v: cents_of(v, field="charge", label="The charge"),
                "effective_from": lambda v: day_of(v, field="effective_from", label="The date"),
            },
            {"code", "charge", "effective_from"},
            key=lambda v: (v["code"], v["modifier"], v["effective_from"]),
            twice=lambda earlier, v: (
                f"column effective_from: line {earlier} already sets "
                f"{_with_modifier(v['code'], v['modifier'])} from {us_date(v['effective_from'])}."
            ),
        )

    def apply(rows: list[dict[str, Any]]) -> None:
        _apply_fees([(v["code"], v["modifier"], v["charge"], v["effective_from"]) for v in rows],
                    actor=actor)  # fmt: skip

    return _import_once(
        actor=actor, kind=FeeImportKind.FEES, contract=None, data=data,
        source_name=source_name, idempotency_key=idempotency_key, check=check,
        what="coding.fee_schedule_import",
        description=lambda n: f"Fee schedule import: {n} fees", apply=apply,
    )  # fmt: skip


def _lock_key(code: str, modifier: str) -> int:
    return zlib.crc32(f"coding.fee:{code}:{modifier}".encode()) - (1 << 31)


def _lock_codes(pairs: Iterable[tuple[str, str]]) -> None:
    """The locks of many codes in one statement, in one order (two imports never deadlock;
    a single fee_set holds one lock only)."""
    if connection.vendor == "postgresql":
        keys = sorted({_lock_key(code, modifier) for code, modifier in pairs})
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys]
            )


def _apply_fees(cleaned: list[tuple[str, str, int, date]], *, actor: User) -> None:
    """Write a file's fees as `_set_fee` would one by one, in a few bulk statements: each
    code's spans (those stored and the file's) are stitched in date order, a span ending the
    day before the next starts unless it already ends sooner (a fee that was ended)."""
    wanted: dict[tuple[str, str], dict[date, int]] = {}
    for code, modifier, cents, start in cleaned:
        wanted.setdefault((code, modifier), {})[start] = cents
    _lock_codes(wanted)
    codes = sorted({code for code, _ in wanted})
    stored: dict[tuple[str, str], list[Fee]] = {}
    for offset in range(0, len(codes), 500):
        for fee in Fee.objects.filter(code__in=codes[offset : offset + 500]):
            if (fee.code, fee.modifier) in wanted:
                stored.setdefault((fee.code, fee.modifier), []).append(fee)
    changed: dict[int, Fee] = {}
    new: list[Fee] = []
    for (code, modifier), starts in wanted.items():
        by_start = {fee.effective_from: fee for fee in stored.get((code, modifier), [])}
        fresh: set[date] = set()
        for start, cents in starts.items():
            fee = by_start.get(start)
            if fee is None:
                by_start[start] = Fee(code=code, modifier=modifier, charge_cents=cents,
                                      effective_from=start, created_by=actor)  # fmt: skip
                fresh.add(start)
            elif fee.charge_cents != cents:
                fee.charge_cents = cents
                changed[fee.pk] = fee
        spans = [by_start[start] for start in sorted(by_start)]
        for fee, following in zip(spans, [*spans[1:], None], strict=True):
            if fee.effective_from in fresh:
                fee.effective_to = None if following is None else following.effective_from - ONE_DAY
                new.append(fee)
            elif (
                following is not None
                and following.effective_from in fresh
                and (fee.effective_to is None or fee.effective_to >= following.effective_from)
            ):
                fee.effective_to = following.effective_from - ONE_DAY
                changed[fee.pk] = fee
    if changed:
        Fee.objects.bulk_update(
            list(changed.values()), ["charge_cents", "effective_to"], batch_size=500
        )
    if new:
        Fee.objects.bulk_create(new, batch_size=500)


# --- Payer contracts --------------------------------------------------------------------------


def _overlap(payer: Payer, start: date, end: date | None, *, exclude: int | None) -> None:
    others = PayerContract.objects.filter(payer=payer).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=start)
    )
    if end is not None:
        others = others.filter(effective_from__lte=end)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    clash = others.order_by("effective_from").first()
    if clash is not None:
        until = f"to {us_date(clash.effective_to)}" if clash.effective_to else "with no end"
        raise InvalidInput(
            f"{payer.name} already has the contract “{clash.name}” from "
            f"{us_date(clash.effective_from)} {until}: one payer's contracts cannot overlap "
            "(end that one first, or start this one after it).",
            field="effective_from",
        )


def _contract_terms(
    *, basis: str, medicare_percent: object, mac: str, locality: str
) -> tuple[Decimal | None, str, str]:
    if basis not in ContractBasis.values:
        raise InvalidInput(
            f"The basis must be one of: {', '.join(ContractBasis.values)}.", field="basis"
        )
    if basis == ContractBasis.RATES:
        return None, "", ""
    if medicare_percent in (None, ""):
        raise InvalidInput(
            "A contract paying a percentage of Medicare needs the percentage.",
            field="medicare_percent",
        )
    percent = percent_of(medicare_percent)
    mac = str(mac or "").strip()
    locality = str(locality or "").strip()
    if not mac:
        raise InvalidInput("Name the Medicare contractor (MAC), such as 13202.", field="mac")
    if not locality:
        raise InvalidInput("Name the Medicare locality, such as 01.", field="locality")
    if not MpfsGpci.objects.filter(mac=mac).exists():
        raise InvalidInput(
            f"No Medicare locality of contractor {mac[:10]} is loaded (load the MPFS GPCI "
            "file, or check the contractor number).",
            field="mac",
        )
    if not MpfsGpci.objects.filter(mac=mac, locality=locality).exists():
        raise InvalidInput(
            f"Medicare contractor {mac} has no locality {locality[:10]} in the loaded GPCIs.",
            field="locality",
        )
    return percent, mac, locality


def _contract_fields(
    name: str,
    basis: str,
    effective_from: object,
    effective_to: object,
    medicare_percent: object,
    mac: str,
    locality: str,
) -> tuple[str, date, date | None, Decimal | None, str, str]:
    """A contract's name, span and terms, checked, for creating or changing one."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the contract a name.", field="name")
    start = day_of(effective_from, field="effective_from", label="The start date")
    end = None
    if effective_to not in (None, ""):
        end = day_of(effective_to, field="effective_to", label="The end date")
        if end < start:
            raise InvalidInput("The end date comes before the start date.", field="effective_to")
    percent, mac, locality = _contract_terms(
        basis=basis, medicare_percent=medicare_percent, mac=mac, locality=locality
    )
    return name[:120], start, end, percent, mac, locality


@transaction.atomic
@binds_actor("actor")
def contract_create(
    *,
    actor: User,
    payer: Payer,
    name: str,
    basis: str,
    effective_from: object,
    effective_to: object = None,
    medicare_percent: object = None,
    mac: str = "",
    locality: str = "",
) -> PayerContract:
    """A payer's contract for a span of days: per-code rates, or a percentage of the MPFS."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    name, start, end, percent, mac, locality = _contract_fields(
        name, basis, effective_from, effective_to, medicare_percent, mac, locality
    )
    Payer.objects.select_for_update().filter(pk=payer.pk).first()  # one writer per payer
    _overlap(payer, start, end, exclude=None)
    return PayerContract.objects.create(
        payer=payer, name=name, basis=basis, medicare_percent=percent, mac=mac,
        locality=locality, effective_from=start, effective_to=end, created_by=actor,
    )  # fmt: skip


@transaction.atomic
@binds_actor("actor")
def contract_update(
    *,
    actor: User,
    contract: PayerContract,
    name: str,
    basis: str,
    effective_from: object,
    effective_to: object = None,
    medicare_percent: object = None,
    mac: str = "",
    locality: str = "",
) -> PayerContract:
    """Change a contract's terms or dates (its rates stay)."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    name, start, end, percent, mac, locality = _contract_fields(
        name, basis, effective_from, effective_to, medicare_percent, mac, locality
    )
    Payer.objects.select_for_update().filter(pk=contract.payer_id).first()
    contract = PayerContract.objects.select_related("payer").get(pk=contract.pk)
    _overlap(contract.payer, start, end, exclude=contract.pk)
    contract.name = name
    contract.basis = basis
    contract.medicare_percent = percent
    contract.mac = mac
    contract.locality = locality
    contract.effective_from = start
    contract.effective_to = end
    contract.save()
    return contract


@transaction.atomic
@binds_actor("actor")
def contract_end(*, actor: User, contract: PayerContract, last_day: object) -> PayerContract:
    """The contract's last day (it pays nothing for later dates of service)."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    end = day_of(last_day, field="effective_to", label="The last day")
    Payer.objects.select_for_update().filter(pk=contract.payer_id).first()
    contract = PayerContract.objects.select_related("payer").get(pk=contract.pk)
    if end < contract.effective_from:
        raise InvalidInput(
            f"The last day ({us_date(end)}) comes before the contract starts "
            f"({us_date(contract.effective_from)}).",
            field="effective_to",
        )
    _overlap(contract.payer, contract.effective_from, end, exclude=contract.pk)
    contract.effective_to = end
    contract.save(update_fields=["effective_to"])
    return contract


# --- Contract rates ---------------------------------------------------------------------------


@transaction.atomic
@binds_actor("actor")
def contract_rate_set(
    *, actor: User, contract: PayerContract, code: str, modifier: str = "", rate: object
) -> ContractRate:
    """The contracted rate of a code (+ modifier); in a Medicare-percent contract, an override."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    code = clean_code(code)
    modifier = clean_modifier(modifier)
    cents = cents_of(rate, field="rate", label="The rate")
    found = (
        ContractRate.objects.select_for_update()
        .filter(contract=contract, code=code, modifier=modifier)
        .first()
    )
    if found is not None:
        if found.rate_cents != cents:
            found.rate_cents = cents
            found.save(update_fields=["rate_cents"])
        return found
    try:
        with transaction.atomic():
            return ContractRate.objects.create(
                contract=contract, code=code, modifier=modifier, rate_cents=cents
            )
    except IntegrityError:  # set by someone else at the same moment: theirs, then ours
        found = ContractRate.objects.get(contract=contract, code=code, modifier=modifier)
        found.rate_cents = cents
        found.save(update_fields=["rate_cents"])
        return found


@transaction.atomic
@binds_actor("actor")
def contract_rate_remove(*, actor: User, rate: ContractRate) -> None:
    require_perm(actor, CodingPerm.MANAGE_FEES)
    ContractRate.objects.filter(pk=rate.pk).delete()


@transaction.atomic
@binds_actor("actor")
def contract_rates_import(
    *,
    actor: User,
    contract: PayerContract,
    data: bytes | str | Any,
    source_name: str = "",
    idempotency_key: str = "",
) -> ImportResult:
    """Apply a CSV of rates (columns code, modifier, rate) to a contract, all or nothing."""

    def check(raw: bytes) -> list[dict[str, Any]]:
        return _checked_rows(
            raw,
            {
                **CODE_READERS,
                "rate": lambda v: cents_of(v, field="rate", label="The rate"),
            },
            {"code", "rate"},
            key=lambda v: (v["code"], v["modifier"]),
            twice=lambda earlier, v: (
                f"column code: line {earlier} already gives a rate for "
                f"{_with_modifier(v['code'], v['modifier'])}."
            ),
        )

    def apply(rows: list[dict[str, Any]]) -> None:
        cleaned = {(v["code"], v["modifier"]): v["rate"] for v in rows}
        existing = {
            (rate.code, rate.modifier): rate
            for rate in ContractRate.objects.select_for_update().filter(contract=contract)
        }
        changed = []
        for pair, cents in cleaned.items():
            rate = existing.get(pair)
            if rate is not None and rate.rate_cents != cents:
                rate.rate_cents = cents
                changed.append(rate)
        if changed:
            ContractRate.objects.bulk_update(changed, ["rate_cents"])
        new = [
            ContractRate(contract=contract, code=code, modifier=modifier, rate_cents=cents)
            for (code, modifier), cents in cleaned.items()
            if (code, modifier) not in existing
        ]
        if new:
            ContractRate.objects.bulk_create(new)

    return _import_once(
        actor=actor, kind=FeeImportKind.RATES, contract=contract, data=data,
        source_name=source_name, idempotency_key=idempotency_key, check=check,
        what="coding.contract_rates_import",
        description=lambda n: f"Rates of {contract}: {n} codes", apply=apply,
    )  # fmt: skip


# --- Prior authorization ----------------------------------------------------------------------


@transaction.atomic
@binds_actor("actor")
def prior_auth_rules_set(*, actor: User, payer: Payer, codes: Iterable[str]) -> set[str]:
    """The codes `payer` pays only with a prior authorization: the rules become exactly these."""
    require_perm(actor, CodingPerm.MANAGE_FEES)
    wanted = {clean_code(code, field="codes") for code in codes if str(code).strip()}
    Payer.objects.select_for_update().filter(pk=payer.pk).first()
    have = set(PriorAuthRule.objects.filter(payer=payer).values_list("code", flat=True))
    gone = have - wanted
    if gone:
        PriorAuthRule.objects.filter(payer=payer, code__in=gone).delete()
    for code in sorted(wanted - have):
        PriorAuthRule.objects.create(payer=payer, code=code)
    return wanted
