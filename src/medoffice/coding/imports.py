"""Loading the code sets and edit tables (the coding app's import services).

Every import reads and checks the whole file before it writes anything: a bad row stops it
with the line, the column and what is wrong, and nothing is written. A good file becomes one
`CodeSetRelease` (its kind, label, effective date, name, SHA-256 and row count, audited with
the importing user) and its rows, in one transaction, as one audit unit. The same file loaded
twice is refused by the release's unique (kind, sha256) key, also when two imports race.

How a newer release takes effect:

- NCCI PTP, MUE and add-on edits and the MPFS RVUs and GPCIs are kept per release; the
  selectors read the newest release of the kind whose effective date is on or before the day
  asked, so claims for earlier dates keep the edits and prices of their day (before an NCCI
  table's first release its first release speaks; no MPFS table prices before its first).
- HCPCS and CPT codes are one row per code (`ProcedureCode.code` is unique): a release
  updates the codes it lists (unless a release effective later already set them) and adds
  the new ones; a code it leaves out is kept as it was (CMS ends a code with a termination
  date, not by dropping it).
- Places of service and the built-in modifiers are reference lists updated in place (no
  release); each load is one audit event.

The release's label and effective date default from the file's name ("..._2024q3..." is
"2024 Q3" from 2024-07-01, "..._2024_jul..." is "2024 July" from 2024-07-01, "..._2024..." is
"2024" from 2024-01-01); the NCCI files carry no effective dates of their own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import IntegrityError, models

from medoffice.coding.code_files import (
    CodeSetFileError as CodeSetFileError,  # the error of a bad file, for the interfaces
)
from medoffice.coding.code_files import (
    Row,
    RowProblem,
    label_and_date,
    parse_rows,
    read_table,
    refuse_duplicates,
)
from medoffice.coding.models import (
    AddOnEdit,
    CodeSetKind,
    CodeSetRelease,
    CodeSystem,
    Modifier,
    ModifierKind,
    MpfsGpci,
    MpfsRvu,
    MueEdit,
    PlaceOfService,
    ProcedureCode,
    PtpEdit,
)
from medoffice.coding.modifier_list import MODIFIERS
from medoffice.coding.permissions import CodingPerm
from medoffice.core import capture
from medoffice.core.access import require_perm
from medoffice.core.context import actor_for_service
from medoffice.core.exceptions import Conflict, InvalidInput, MedofficeError
from medoffice.core.formats import us_date
from medoffice.core.models import AuditAction, User

ANY_PRIMARY = "CCCCC"
CORPUS_ENV = "MEDOFFICE_CODES_CORPUS"

HCPCS_PATTERN = re.compile(r"[A-V][0-9]{4}")
CPT_PATTERN = re.compile(r"[0-9]{4}[0-9FTUM]")


# --- Errors ------------------------------------------------------------------------------------


class AlreadyLoaded(Conflict):
    code = "code_set_already_loaded"

    def __init__(self, release: CodeSetRelease) -> None:
        when = us_date(release.imported_at) if release.imported_at else "an earlier day"
        super().__init__(
            f"This file was already loaded on {when} as the {release.get_kind_display()} "
            f"release “{release.label}” (effective {us_date(release.effective_date)}); "
            "nothing was loaded again.",
            field="file",
        )
        self.release = release


class CorpusMissing(MedofficeError):
    code = "codes_corpus_missing"
    status = 500

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The shipped code tables were not found ({where}): set {CORPUS_ENV} to the folder "
            "that holds hcpcs/, ncci/, mpfs/ and pos/."
        )


# --- Writing a release -------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What one import wrote (or found already loaded)."""

    kind: str
    label: str
    rows: int
    release: CodeSetRelease | None = None
    created: int = 0
    updated: int = 0
    skipped: bool = False
    note: str = ""
    details: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.label}: {self.note or 'already loaded'}"
        text = f"{self.label}: {self.rows} rows"
        if self.created or self.updated:
            text += f" ({self.created} new, {self.updated} updated)"
        return text


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def already_loaded(kind: str, data: bytes) -> CodeSetRelease | None:
    return CodeSetRelease.objects.filter(kind=kind, sha256=_sha256(data)).first()


def _loaded_before(kind: str, digest: str) -> CodeSetRelease | None:
    """The friendly early answer; the unique key decides when two imports race."""
    return CodeSetRelease.objects.filter(kind=kind, sha256=digest).first()


def _check_actor(actor: User | None) -> User:
    if actor is None:
        raise capture.ActorRequired("loading code sets")
    require_perm(actor, CodingPerm.IMPORT_CODE_SETS)
    return actor


def _write_release(
    *,
    kind: str,
    label: str,
    effective: date,
    source_name: str,
    data: bytes,
    actor: User,
    row_count: int,
    write: Callable[[CodeSetRelease], tuple[int, int]],
) -> ImportResult:
    """One release and its rows in one transaction and one audit unit; refused when loaded."""
    digest = _sha256(data)
    existing = _loaded_before(kind, digest)
    if existing is not None:
        raise AlreadyLoaded(existing)
    name = os.path.basename(source_name)[:255] or "(unnamed file)"
    try:
        with capture.unit(
            AuditAction.CREATE,
            actor=actor_for_service(actor),
            what="coding.codesetrelease",
            description=f"{CodeSetKind(kind).label} {label}: {row_count} rows",
            file={"name": name, "size": len(data), "sha256": digest},
            counts={"rows": row_count},
        ) as unit:
            release = CodeSetRelease(
                kind=kind, label=label, effective_date=effective, source_name=name,
                sha256=digest, row_count=row_count, imported_by=actor,
            )  # fmt: skip
            release.save(force_insert=True)
            created, updated = write(release)
            unit.counts.update({"created": created, "updated": updated, "release": release.pk})
    except IntegrityError:
        raced = CodeSetRelease.objects.filter(kind=kind, sha256=digest).first()
        if raced is not None:
            raise AlreadyLoaded(raced) from None
        raise
    return ImportResult(
        kind=kind, label=label, rows=row_count, release=release, created=created, updated=updated
    )


def _bulk(model: type[models.Model], objects: list[Any]) -> int:
    model._default_manager.bulk_create(objects, batch_size=2000)
    return len(objects)


# --- HCPCS Level II and CPT ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Code:
    code: str
    short: str
    long: str
    effective: date | None
    termination: date | None


def _check_dates(effective: date | None, termination: date | None, column: str) -> None:
    if effective and termination and termination < effective:
        raise RowProblem(
            column, f"{termination.isoformat()} comes before the effective date {effective}"
        )


def _upsert_codes(system: str, codes: list[_Code], release: CodeSetRelease) -> tuple[int, int]:
    """Add the new codes; update those no later release has set. Refuse a code of the other
    system (a CPT and a HCPCS code never share a code)."""
    wanted = [c.code for c in codes]
    existing: dict[str, ProcedureCode] = {}
    for start in range(0, len(wanted), 900):
        for found in (
            ProcedureCode.objects.filter(code__in=wanted[start : start + 900])
            .only("id", "code", "system", "release__effective_date")
            .select_related("release")
        ):
            existing[found.code] = found
    clashes = sorted(c for c, row in existing.items() if row.system != system)
    if clashes:
        raise InvalidInput(
            f"file: {len(clashes)} code(s) are already loaded as another code system "
            f"({', '.join(clashes[:10])}); nothing was written.",
            field="file",
        )
    new: list[ProcedureCode] = []
    changed: list[ProcedureCode] = []
    for item in codes:
        values = {
            "short_description": item.short,
            "long_description": item.long,
            "effective_date": item.effective,
            "termination_date": item.termination,
        }
        current = existing.get(item.code)
        if current is None:
            new.append(ProcedureCode(system=system, code=item.code, release=release, **values))
        elif current.release.effective_date <= release.effective_date:
            for name, value in values.items():
                setattr(current, name, value)
            current.release = release
            changed.append(current)
    ProcedureCode.objects.bulk_create(new, batch_size=2000)
    ProcedureCode.objects.bulk_update(
        changed,
        ["short_description", "long_description", "effective_date", "termination_date",
         "release"],
        batch_size=1000,
    )  # fmt: skip
    return len(new), len(changed)


HCPCS_COLUMNS = ("hcpcs", "short_description", "long_description")


def _hcpcs_row(row: Row) -> _Code:
    code = row.code("hcpcs", HCPCS_PATTERN, " HCPCS Level II")
    effective = row.day("date_added") if "date_added" in row.values else None
    termination = row.day("termination_date") if "termination_date" in row.values else None
    _check_dates(effective, termination, "termination_date")
    return _Code(
        code=code,
        short=row.text("short_description", max_length=100),
        long=row.text("long_description", required=False),
        effective=effective,
        termination=termination,
    )


def import_hcpcs(
    *, data: bytes, source_name: str, actor: User | None, label: str = "",
    effective: date | None = None,
) -> ImportResult:  # fmt: skip
    """HCPCS Level II from the CMS file (columns hcpcs, short_description, long_description,
    and date_added / termination_date when present)."""
    user = _check_actor(actor)
    label, day = label_and_date(source_name, label, effective)
    _header, rows = read_table(data, required=HCPCS_COLUMNS)
    codes = parse_rows(rows, _hcpcs_row)
    refuse_duplicates(rows, [c.code for c in codes], "hcpcs")
    return _write_release(
        kind=CodeSetKind.HCPCS, label=label, effective=day, source_name=source_name, data=data,
        actor=user, row_count=len(codes),
        write=lambda release: _upsert_codes(CodeSystem.HCPCS, codes, release),
    )  # fmt: skip


CPT_FIELDS = ("code", "short", "long", "effective", "termination")


def parse_column_map(text: str) -> dict[str, str]:
    """`code=CPT_CODE,short=SHORT,long=LONG[,effective=...,termination=...]` as a dict."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, column = part.partition("=")
        name = name.strip().lower()
        if not sep or not column.strip():
            raise InvalidInput(
                f"map: “{part}” is not name=COLUMN (e.g. code=CPT_CODE).", field="map"
            )
        if name not in CPT_FIELDS:
            raise InvalidInput(f"map: “{name}” is not one of {', '.join(CPT_FIELDS)}.", field="map")
        mapping[name] = column.strip()
    for needed in ("code", "short"):
        if needed not in mapping:
            raise InvalidInput(
                f"map: say which column holds the {needed} (e.g. {needed}=COLUMN).", field="map"
            )
    return mapping


def import_cpt(
    *, data: bytes, source_name: str, column_map: Mapping[str, str] | str, actor: User | None,
    label: str = "", effective: date | None = None,
) -> ImportResult:  # fmt: skip
    """CPT from the practice's own licensed file, a CSV or TSV whose columns the map names."""
    user = _check_actor(actor)
    mapping = parse_column_map(column_map) if isinstance(column_map, str) else dict(column_map)
    if "code" not in mapping or "short" not in mapping:
        raise InvalidInput("map: name the code and short description columns.", field="map")
    label, day = label_and_date(source_name, label, effective)
    _header, rows = read_table(data, required=list(dict.fromkeys(mapping.values())))

    def parse(row: Row) -> _Code:
        start = row.day(mapping["effective"]) if "effective" in mapping else None
        end = row.day(mapping["termination"]) if "termination" in mapping else None
        _check_dates(start, end, mapping.get("termination", "termination"))
        return _Code(
            code=row.code(mapping["code"], CPT_PATTERN, " CPT"),
            short=row.text(mapping["short"], max_length=100),
            long=row.text(mapping["long"], required=False) if "long" in mapping else "",
            effective=start,
            termination=end,
        )

    codes = parse_rows(rows, parse)
    refuse_duplicates(rows, [c.code for c in codes], mapping["code"])
    return _write_release(
        kind=CodeSetKind.CPT, label=label, effective=day, source_name=source_name, data=data,
        actor=user, row_count=len(codes),
        write=lambda release: _upsert_codes(CodeSystem.CPT, codes, release),
    )  # fmt: skip


# --- NCCI edits ------------------------------------------------------------------------------------


PTP_COLUMNS = ("column1_code", "column2_code", "deletion_date", "modifier_indicator")
MUE_COLUMNS = ("hcpcs", "mue_units")
ADD_ON_COLUMNS = ("primary_code", "add_on_code", "aoc_edit_type")
# CMS's own files (the PTP .txt, the MUE .csv, the add-on code edits), as `plain_column` reads
# their headers.
PTP_CMS_COLUMNS = {
    "column 1": "column1_code", "column 2": "column2_code", "effective date": "effective_date",
    "deletion date": "deletion_date", "modifier": "modifier_indicator",
    "ptp edit rationale": "ptp_edit_rationale",
}  # fmt: skip
MUE_CMS_COLUMNS = {
    "hcpcs/cpt code": "hcpcs", "practitioner services mue values": "mue_units",
    "outpatient hospital services mue values": "mue_units",
    "dme supplier services mue values": "mue_units",
    "mue adjudication indicator": "mue_adjudication_indicator", "mue rationale": "mue_rationale",
}  # fmt: skip
ADD_ON_CMS_COLUMNS = {
    "add-on code": "add_on_code", "primary code": "primary_code", "aoc edit type": "aoc_edit_type",
    "aoc edit effective date": "effective_date", "aoc edit deletion date": "deletion_date",
}  # fmt: skip
NCCI_KINDS = {
    "ptp": CodeSetKind.NCCI_PTP,
    "mue": CodeSetKind.NCCI_MUE,
    "add-on": CodeSetKind.NCCI_ADD_ON,
}


def _ptp_row(row: Row) -> PtpEdit:
    effective = row.day("effective_date") if "effective_date" in row.values else None
    deletion = row.day("deletion_date")
    _check_dates(effective, deletion, "deletion_date")
    return PtpEdit(
        column1=row.code("column1_code"),
        column2=row.code("column2_code"),
        effective_date=effective,
        deletion_date=deletion,
        modifier_indicator=row.choice("modifier_indicator", ("0", "1", "9")),
        rationale=row.text("ptp_edit_rationale", required=False, max_length=200),
    )


def _mue_row(row: Row) -> MueEdit:
    return MueEdit(
        code=row.code("hcpcs"),
        max_units=row.whole("mue_units"),
        adjudication_indicator=_mue_indicator(row),
        rationale=row.text("mue_rationale", required=False, max_length=200),
    )


def _mue_indicator(row: Row) -> str:
    """1, 2 or 3; CMS's file writes it with its meaning ("2 Date of Service Edit: Policy")."""
    value = row.text("mue_adjudication_indicator", required=False)
    number, _, meaning = value.partition(" ")
    if meaning and number in ("1", "2", "3"):
        return number
    return row.choice("mue_adjudication_indicator", ("", "1", "2", "3"), required=False)


def _add_on_row(row: Row) -> AddOnEdit:
    effective = row.day("effective_date") if "effective_date" in row.values else None
    deletion = row.day("deletion_date") if "deletion_date" in row.values else None
    _check_dates(effective, deletion, "deletion_date")
    return AddOnEdit(
        add_on_code=row.code("add_on_code"),
        primary_code=row.code("primary_code"),
        edit_type=row.choice("aoc_edit_type", ("1", "2", "3")),
        effective_date=effective,
        deletion_date=deletion,
    )


def import_ncci(
    *, table: str, data: bytes, source_name: str, actor: User | None, label: str = "",
    effective: date | None = None,
) -> ImportResult:  # fmt: skip
    """One NCCI table (`table` is ptp, mue or add-on) from CMS's file, as a release."""
    user = _check_actor(actor)
    if table not in NCCI_KINDS:
        raise InvalidInput(f"table: “{table}” is not one of ptp, mue, add-on.", field="table")
    label, day = label_and_date(source_name, label, effective)
    objects: list[Any]
    if table == "ptp":
        _header, rows = read_table(data, required=PTP_COLUMNS, aliases=PTP_CMS_COLUMNS)
        objects = parse_rows(rows, _ptp_row)
        model: type[models.Model] = PtpEdit
    elif table == "mue":
        _header, rows = read_table(data, required=MUE_COLUMNS, aliases=MUE_CMS_COLUMNS)
        objects = parse_rows(rows, _mue_row)
        refuse_duplicates(rows, [m.code for m in objects], "hcpcs")
        model = MueEdit
    else:
        _header, rows = read_table(data, required=ADD_ON_COLUMNS, aliases=ADD_ON_CMS_COLUMNS)
        objects = parse_rows(rows, _add_on_row)
        refuse_duplicates(
            rows, [(a.add_on_code, a.primary_code, a.edit_type) for a in objects], "primary_code"
        )
        model = AddOnEdit

    def write(release: CodeSetRelease) -> tuple[int, int]:
        for item in objects:
            item.release = release
        return _bulk(model, objects), 0

    return _write_release(
        kind=NCCI_KINDS[table], label=label, effective=day, source_name=source_name, data=data,
        actor=user, row_count=len(objects), write=write,
    )  # fmt: skip


# --- MPFS RVUs and GPCIs ---------------------------------------------------------------------------


RVU_COLUMNS = (
    "hcpcs", "modifier", "work_rvu", "non_facility_pe_rvu", "facility_pe_rvu", "mp_rvu",
    "conversion_factor",
)  # fmt: skip
GPCI_COLUMNS = ("mac", "locality", "locality_name", "gpci_work", "gpci_pe", "gpci_mp")
MPFS_KINDS = {"rvu": CodeSetKind.MPFS_RVU, "gpci": CodeSetKind.MPFS_GPCI}


def _rvu_row(row: Row) -> MpfsRvu:
    return MpfsRvu(
        code=row.code("hcpcs"),
        modifier=row.text("modifier", required=False, max_length=2).upper(),
        status_code=row.text("status_code", required=False, max_length=1),
        pctc_indicator=row.text("pctc_indicator", required=False, max_length=1),
        global_days=row.text("global_days", required=False, max_length=3),
        work_rvu=row.decimal("work_rvu", places=3, digits=9),
        non_facility_pe_rvu=row.decimal("non_facility_pe_rvu", places=3, digits=9),
        facility_pe_rvu=row.decimal("facility_pe_rvu", places=3, digits=9),
        mp_rvu=row.decimal("mp_rvu", places=3, digits=9),
        conversion_factor=_positive(row, "conversion_factor", places=4, digits=9),
        non_facility_na=row.not_available("non_facility_na_indicator"),
        facility_na=row.not_available("facility_na_indicator"),
    )


def _positive(row: Row, column: str, *, places: int, digits: int) -> Decimal:
    value = row.decimal(column, places=places, digits=digits)
    if value <= 0:
        raise RowProblem(column, "must be more than zero")
    return value


def _gpci_row(row: Row) -> MpfsGpci:
    mac = row.text("mac", max_length=5)
    locality = row.text("locality", max_length=2)
    if not mac.isdigit():
        raise RowProblem("mac", f"“{mac}” is not a Medicare contractor number")
    if not locality.isdigit():
        raise RowProblem("locality", f"“{locality}” is not a two-digit locality")
    return MpfsGpci(
        mac=mac,
        locality=locality.zfill(2),
        state=row.text("state", required=False, max_length=2).upper(),
        name=row.text("locality_name", max_length=120),
        work_gpci=_positive(row, "gpci_work", places=3, digits=6),
        pe_gpci=_positive(row, "gpci_pe", places=3, digits=6),
        mp_gpci=_positive(row, "gpci_mp", places=3, digits=6),
    )


def import_mpfs(
    *, table: str, data: bytes, source_name: str, actor: User | None, label: str = "",
    effective: date | None = None,
) -> ImportResult:  # fmt: skip
    """The MPFS national RVU file (`rvu`) or the GPCI file (`gpci`), as a release."""
    user = _check_actor(actor)
    if table not in MPFS_KINDS:
        raise InvalidInput(f"table: “{table}” is not one of rvu, gpci.", field="table")
    label, day = label_and_date(source_name, label, effective)
    objects: list[Any]
    if table == "rvu":
        _header, rows = read_table(data, required=RVU_COLUMNS)
        objects = parse_rows(rows, _rvu_row)
        refuse_duplicates(rows, [(r.code, r.modifier) for r in objects], "hcpcs")
        model: type[models.Model] = MpfsRvu
    else:
        _header, rows = read_table(data, required=GPCI_COLUMNS)
        objects = parse_rows(rows, _gpci_row)
        refuse_duplicates(rows, [(g.mac, g.locality) for g in objects], "locality")
        model = MpfsGpci

    def write(release: CodeSetRelease) -> tuple[int, int]:
        for item in objects:
            item.release = release
        return _bulk(model, objects), 0

    return _write_release(
        kind=MPFS_KINDS[table], label=label, effective=day, source_name=source_name, data=data,
        actor=user, row_count=len(objects), write=write,
    )  # fmt: skip


# --- Places of service and modifiers (reference lists, no release) --------------------------------


POS_COLUMNS = ("pos_code", "facility_type", "name")
FACILITY_TYPES = ("Facility", "Non-Facility", "Unassigned")


def _pos_row(row: Row) -> PlaceOfService:
    code = row.text("pos_code")
    if not (code.isdigit() and len(code) <= 2):
        raise RowProblem("pos_code", f"“{code[:20]}” is not a two-digit place of service")
    kind = row.choice("facility_type", FACILITY_TYPES)
    name = row.text("name", max_length=200)
    return PlaceOfService(
        code=code.zfill(2),
        name=name,
        description=row.text("description", required=False),
        is_facility=kind == "Facility",
        is_assigned=kind != "Unassigned" and name.lower() != "unassigned",
    )


def _upsert_by_code(
    model: type[models.Model], objects: Sequence[Any], fields: Sequence[str]
) -> tuple[int, int]:
    everything: Iterable[Any] = model._default_manager.all()
    existing = {o.code: o for o in everything}
    new, changed = [], []
    for item in objects:
        current = existing.get(item.code)
        if current is None:
            new.append(item)
        elif any(getattr(current, f) != getattr(item, f) for f in fields):
            for f in fields:
                setattr(current, f, getattr(item, f))
            changed.append(current)
    model._default_manager.bulk_create(new)
    model._default_manager.bulk_update(changed, list(fields))
    return len(new), len(changed)


def _reference_unit(what: str, description: str, actor: User, file: object | None = None) -> Any:
    return capture.unit(
        AuditAction.UPDATE, actor=actor_for_service(actor), what=what, description=description,
        file=file,
    )  # fmt: skip


def import_places_of_service(*, data: bytes, source_name: str, actor: User | None) -> ImportResult:
    """CMS's place-of-service list (pos_code, facility_type, name, description), by code."""
    user = _check_actor(actor)
    _header, rows = read_table(data, required=POS_COLUMNS)
    places = parse_rows(rows, _pos_row)
    refuse_duplicates(rows, [p.code for p in places], "pos_code")
    file = {"name": os.path.basename(source_name), "size": len(data), "sha256": _sha256(data)}
    with _reference_unit(
        "coding.placeofservice", f"places of service: {len(places)} rows", user, file
    ) as unit:
        created, updated = _upsert_by_code(
            PlaceOfService, places, ("name", "description", "is_facility", "is_assigned")
        )
        unit.counts.update({"rows": len(places), "created": created, "updated": updated})
    return ImportResult(
        kind="pos", label="Places of service", rows=len(places), created=created, updated=updated
    )


def load_modifiers(*, actor: User | None) -> ImportResult:
    """The built-in modifier list (`modifier_list.MODIFIERS`), by code; others are kept."""
    user = _check_actor(actor)
    wanted = [
        Modifier(
            code=m.code,
            description=m.description,
            ncci_bypass=m.ncci_bypass,
            is_active=True,
            kind=ModifierKind.PRICING if m.pricing else ModifierKind.INFORMATIONAL,
        )
        for m in MODIFIERS
    ]
    with _reference_unit("coding.modifier", f"modifiers: {len(wanted)} built in", user) as unit:
        created, updated = _upsert_by_code(
            Modifier, wanted, ("description", "kind", "ncci_bypass", "is_active")
        )
        unit.counts.update({"rows": len(wanted), "created": created, "updated": updated})
    return ImportResult(
        kind="modifiers", label="Modifiers", rows=len(wanted), created=created, updated=updated
    )


# --- One entry point for a file of any kind (the pages and the API) --------------------------------


FILE_KINDS = {
    "hcpcs": "HCPCS Level II (CMS file)",
    "cpt": "CPT (the practice's licensed file)",
    "ncci_ptp": "NCCI procedure-to-procedure edits",
    "ncci_mue": "NCCI medically unlikely edits",
    "ncci_add_on": "NCCI add-on code edits",
    "mpfs_rvu": "MPFS national RVUs",
    "mpfs_gpci": "MPFS GPCIs",
    "pos": "Places of service",
}


def import_file(
    *, kind: str, data: bytes, source_name: str, actor: User | None, label: str = "",
    effective: date | None = None, column_map: str = "",
) -> ImportResult:  # fmt: skip
    """Load one file of the named kind (see FILE_KINDS)."""
    common: dict[str, Any] = {"data": data, "source_name": source_name, "actor": actor}
    dated = {**common, "label": label, "effective": effective}
    if kind == "hcpcs":
        return import_hcpcs(**dated)
    if kind == "cpt":
        return import_cpt(**dated, column_map=column_map)
    if kind in ("ncci_ptp", "ncci_mue", "ncci_add_on"):
        table = {"ncci_ptp": "ptp", "ncci_mue": "mue", "ncci_add_on": "add-on"}[kind]
        return import_ncci(table=table, **dated)
    if kind in ("mpfs_rvu", "mpfs_gpci"):
        return import_mpfs(table=kind.removeprefix("mpfs_"), **dated)
    if kind == "pos":
        return import_places_of_service(**common)
    raise InvalidInput(f"kind: “{kind}” is not one of {', '.join(FILE_KINDS)}.", field="kind")


# --- The shipped defaults ----------------------------------------------------------------------------


def codes_corpus() -> Path:
    """The folder of the shipped code tables: $MEDOFFICE_CODES_CORPUS, or `shared/corpus/codes`
    in a folder above this package."""
    configured = os.environ.get(CORPUS_ENV, "").strip()
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise CorpusMissing(f"{CORPUS_ENV} names no folder")
        return path
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "codes"
        if candidate.is_dir():
            return candidate
    raise CorpusMissing("no shared/corpus/codes folder above the installed package")


# (kind, path in the corpus, how to load it)
DEFAULT_FILES: tuple[tuple[str, str], ...] = (
    ("hcpcs", "hcpcs/hcpcs_level2_2024.tsv"),
    ("pos", "pos/cms_place_of_service.tsv"),
    ("ncci_ptp", "ncci/ncci_ptp_practitioner_2024q3_sample.tsv"),
    ("ncci_mue", "ncci/ncci_mue_practitioner_2024q3.tsv"),
    ("ncci_add_on", "ncci/ncci_add_on_code_edits_2024.tsv"),
    ("mpfs_rvu", "mpfs/pfs_national_rvu_2024_jul.tsv"),
    ("mpfs_gpci", "mpfs/pfs_gpci_2024_jul.tsv"),
)


def load_defaults(*, actor: User | None, corpus: Path | None = None) -> list[ImportResult]:
    """HCPCS, places of service, the modifiers, the 2024 NCCI tables and the July 2024 MPFS
    tables from the shipped corpus; a table already loaded from the same file is skipped."""
    user = _check_actor(actor)
    folder = corpus or codes_corpus()
    missing = [path for _kind, path in DEFAULT_FILES if not (folder / path).is_file()]
    if missing:
        raise CorpusMissing(f"{', '.join(missing)} not in {folder.name}/")
    results: list[ImportResult] = []
    for kind, path in DEFAULT_FILES:
        data = (folder / path).read_bytes()
        if kind != "pos":
            loaded = already_loaded(kind, data)
            if loaded is not None:
                results.append(
                    ImportResult(
                        kind=kind,
                        label=f"{loaded.get_kind_display()} {loaded.label}",
                        rows=loaded.row_count,
                        release=loaded,
                        skipped=True,
                        note="already loaded",
                    )
                )
                continue
        try:
            result = import_file(kind=kind, data=data, source_name=Path(path).name, actor=user)
        except AlreadyLoaded as exc:  # loaded meanwhile by someone else
            result = ImportResult(
                kind=kind, label=str(exc.release), rows=exc.release.row_count,
                release=exc.release, skipped=True, note="already loaded",
            )  # fmt: skip
        if result.release is not None:
            result.label = f"{result.release.get_kind_display()} {result.label}"
        results.append(result)
        if kind == "pos":
            results.append(load_modifiers(actor=user))
    return results


def load_defaults_for_first_owner(owner: User) -> list[str]:
    """A new installation's code tables, loaded once its first owner exists: without them
    the scrubber has no NCCI edit, no MUE and no fee schedule to check a claim against. An
    installation without the shipped corpus is told how to load them later."""
    try:
        results = load_defaults(actor=owner)
    except CorpusMissing as exc:
        return [f"{exc} Then run: medoffice codes load-defaults --as {owner.username}"]
    return ["Loaded the shipped code tables:", *(f"  {result}" for result in results)]
