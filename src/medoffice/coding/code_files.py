"""Reading the code files: a TSV or CSV checked row by row, every problem named by its line
and column; and a release's label and effective date from the file's name."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from medoffice.core.exceptions import InvalidInput

T = TypeVar("T")
MAX_ERRORS_SHOWN = 10
# An NCCI/MPFS code: CPT (incl. category II/III, PLA) or HCPCS Level II, as the files carry them.
CODE_PATTERN = re.compile(r"[0-9A-Z]{5}")


class CodeSetFileError(InvalidInput):
    """The file cannot be loaded: each problem names its line and column."""

    code = "code_set_file_invalid"

    def __init__(self, problems: Sequence[str], *, total: int | None = None) -> None:
        total = len(problems) if total is None else total
        shown = list(problems[:MAX_ERRORS_SHOWN])
        more = total - len(shown)
        text = "; ".join(shown)
        if more > 0:
            text += f"; and {more} more problem(s)"
        prefix = "The file was not loaded (nothing was written): "
        super().__init__(prefix + text, field="file", errors={"file": shown})
        self.problems = shown


class RowProblem(Exception):
    def __init__(self, column: str, what: str) -> None:
        super().__init__(what)
        self.column = column
        self.what = what


# --- Reading a table ---------------------------------------------------------------------------


@dataclass
class Row:
    """One data line of a file: its line number and its values by column name."""

    line: int
    values: dict[str, str]

    def text(self, column: str, *, required: bool = True, max_length: int | None = None) -> str:
        value = self.values.get(column, "").strip()
        if required and not value:
            raise RowProblem(column, "is empty")
        if max_length is not None and len(value) > max_length:
            raise RowProblem(column, f"is {len(value)} characters long (at most {max_length})")
        return value

    def code(self, column: str, pattern: re.Pattern[str] = CODE_PATTERN, what: str = "") -> str:
        value = self.text(column).upper()
        if not pattern.fullmatch(value):
            raise RowProblem(column, f"“{value[:20]}” is not a{what or ' procedure'} code")
        return value

    def day(self, column: str, *, required: bool = False) -> date | None:
        """A date, or None when empty or CMS's "*" (no date)."""
        value = self.text(column, required=required)
        if not value or value == "*":
            return None
        parsed = parse_file_date(value)
        if parsed is None:
            raise RowProblem(column, f"“{value[:20]}” is not a date (YYYY-MM-DD)")
        return parsed

    def decimal(self, column: str, *, places: int, digits: int) -> Decimal:
        value = self.text(column, required=False) or "0"
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise RowProblem(column, f"“{value[:20]}” is not a number") from None
        if not number.is_finite() or number < 0:
            raise RowProblem(column, f"“{value[:20]}” is not a number of zero or more")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise RowProblem(column, f"“{value}” has more than {places} decimal places")
        if number >= Decimal(10) ** (digits - places):
            raise RowProblem(column, f"“{value}” is too large")
        return number

    def whole(self, column: str, *, minimum: int = 0) -> int:
        value = self.text(column)
        if not value.isdigit() or int(value) < minimum:
            raise RowProblem(column, f"“{value[:20]}” is not a whole number of {minimum} or more")
        return int(value)

    def choice(self, column: str, allowed: Iterable[str], *, required: bool = True) -> str:
        value = self.text(column, required=required)
        options = tuple(allowed)
        if value and value not in options:
            raise RowProblem(
                column, f"“{value[:20]}” is not one of {', '.join(o or '(empty)' for o in options)}"
            )
        return value

    def not_available(self, column: str) -> bool:
        """An MPFS "NA" flag: the rate does not apply in that setting."""
        if column not in self.values:
            return False
        return self.choice(column, ("", "NA"), required=False) == "NA"


def parse_file_date(value: str) -> date | None:
    """A date as the code files write them: 2024-07-01, 20240701 or 07/01/2024."""
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, pattern).date()  # noqa: DTZ007 (a day, no time)
        except ValueError:
            continue
    return None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


HEADER_SEARCH = 40  # lines a header may come after (CMS's files open with notices)
_NOTE_IN_NAME = re.compile(r"\s*(?:\*|\d)=.*$")


def plain_column(name: str) -> str:
    """A header as CMS writes it, made comparable: "Deletion Date *=no data" and "Modifier
    0=not allowed 1=allowed ..." are "deletion date" and "modifier"."""
    return _NOTE_IN_NAME.sub("", " ".join(name.lower().split()))


def _named(header: list[str], aliases: Mapping[str, str]) -> list[str]:
    return [aliases.get(plain_column(name), name) for name in header] if aliases else header


def read_table(
    data: bytes,
    *,
    required: Iterable[str],
    delimiter: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[str], list[Row]]:
    """The header and the data rows of a TSV or CSV file; a missing column stops it.

    With `aliases` (a column as `plain_column` makes it -> ours), the file may be in its
    publisher's own layout: its headers are renamed, and notices before the header (up to
    HEADER_SEARCH lines) are passed over, the header being the first line naming every
    required column.
    """
    text = _decode(data)
    required = tuple(required)
    if delimiter is None:
        delimiter = "\t" if "\t" in text[:20_000] else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _named([name.strip() for name in next(reader)], aliases or {})
        first, first_line = header, reader.line_num
        while aliases and reader.line_num < HEADER_SEARCH and not set(required) <= set(header):
            header = _named([name.strip() for name in next(reader)], aliases)
        if not set(required) <= set(header):
            header = first
    except StopIteration:
        if not aliases or reader.line_num <= 1:
            raise CodeSetFileError(["the file is empty"]) from None
        header = first
    except csv.Error as exc:
        raise CodeSetFileError([f"line {reader.line_num}: cannot be read ({exc})"]) from None
    missing = [name for name in required if name not in header]
    if missing:
        raise CodeSetFileError(
            [
                f"line {first_line}: the column “{name}” is missing (the header has: "
                f"{', '.join(header)[:300]})"
                for name in missing
            ]
        )
    rows: list[Row] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                raise CodeSetFileError(
                    [f"line {line}: has {len(values)} columns, the header {len(header)}"]
                )
            rows.append(Row(line, dict(zip(header, values, strict=False))))
    except csv.Error as exc:
        raise CodeSetFileError([f"line {reader.line_num}: cannot be read ({exc})"]) from None
    if not rows:
        raise CodeSetFileError(["the file has a header but no rows"])
    return header, rows


def parse_rows(rows: Sequence[Row], parse: Callable[[Row], T]) -> list[T]:
    """Every row parsed, or one error naming each bad line and column."""
    parsed: list[T] = []
    problems: list[str] = []
    count = 0
    for row in rows:
        try:
            parsed.append(parse(row))
        except RowProblem as problem:
            count += 1
            if len(problems) < MAX_ERRORS_SHOWN:
                problems.append(f"line {row.line}, column “{problem.column}”: {problem.what}")
    if problems:
        raise CodeSetFileError(problems, total=count)
    return parsed


def refuse_duplicates(rows: Sequence[Row], keys: Sequence[object], column: str) -> None:
    seen: dict[object, int] = {}
    problems: list[str] = []
    for row, key in zip(rows, keys, strict=True):
        if key in seen:
            problems.append(
                f"line {row.line}, column “{column}”: {_key_text(key)} is already on line "
                f"{seen[key]}"
            )
        else:
            seen[key] = row.line
    if problems:
        raise CodeSetFileError(problems)


def _key_text(key: object) -> str:
    if isinstance(key, tuple):
        return "/".join(str(k) for k in key if k) or "(empty)"
    return str(key)


# --- Labels and dates from a file's name ---------------------------------------------------------

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def release_from_name(name: str) -> tuple[str, date] | None:
    """(label, effective date) from a file name such as pfs_gpci_2024_jul.tsv, or None."""
    stem = Path(name).stem.lower()
    quarter = re.search(r"(?<![0-9])((?:19|20)[0-9]{2})[_\- ]?q([1-4])(?![0-9])", stem)
    if quarter:
        year, q = int(quarter.group(1)), int(quarter.group(2))
        return f"{year} Q{q}", date(year, 3 * q - 2, 1)
    month = re.search(
        r"(?<![0-9])((?:19|20)[0-9]{2})[_\- ]?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
        stem,
    )
    if month:
        year, number = int(month.group(1)), _MONTHS[month.group(2)]
        return f"{year} {_MONTH_NAMES[number - 1]}", date(year, number, 1)
    year_only = re.search(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])", stem)
    if year_only:
        year = int(year_only.group(1))
        return str(year), date(year, 1, 1)
    return None


def label_and_date(source_name: str, label: str, effective: date | None) -> tuple[str, date]:
    guessed = release_from_name(source_name)
    if effective is None:
        if guessed is None:
            raise InvalidInput(
                f"effective: the file name “{source_name}” does not say when the release takes "
                "effect: give its effective date (YYYY-MM-DD).",
                field="effective",
            )
        effective = guessed[1]
    if not label.strip():
        label = guessed[0] if guessed is not None else effective.isoformat()
    if len(label.strip()) > 80:
        raise InvalidInput("label: at most 80 characters.", field="label")
    return label.strip(), effective
