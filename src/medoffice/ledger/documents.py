"""The statements as PDF: the income statement, the balance sheet, a patient's account."""

from __future__ import annotations

from decimal import Decimal

from medoffice.core import formats
from medoffice.core.pdf import letter_document, table
from medoffice.ledger import reports
from medoffice.ledger.models import to_dollars


def _money(cents: int) -> str:
    return formats.money(to_dollars(cents))


COLUMNS_PER_TABLE = 6  # months (or locations) side by side on a landscape letter page


def income_statement_pdf(statement: reports.IncomeStatement) -> bytes:
    """Every column of the statement: a year by month prints as two tables of six months
    (the total with the last), one under the other, rather than dropping months."""
    period = f"{formats.us_date(statement.since)} to {formats.us_date(statement.until)}"
    all_keys = [key for key, _ in statement.columns]
    pdf = letter_document(f"Income statement, {period}", landscape=len(all_keys) > 3)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    first = 190.0
    table_rows = statement.table()
    net = statement.net_totals
    chunks = [
        statement.columns[n : n + COLUMNS_PER_TABLE]
        for n in range(0, len(statement.columns), COLUMNS_PER_TABLE)
    ] or [[]]
    for number, columns in enumerate(chunks):
        last = number == len(chunks) - 1
        keys = [key for key, _ in columns]
        shown_count = len(keys) + (1 if last else 0)
        rest = (width - first) / max(COLUMNS_PER_TABLE + 1, shown_count)
        widths = [first, *([rest] * shown_count)]

        def totals(cells: list[str], total: int, *, last: bool = last) -> list[str]:
            return [*cells, _money(total)] if last else cells

        rows: list[list[str]] = []
        bold: list[int] = []
        for section, lines, _totals, _total in table_rows:
            bold.append(len(rows))
            rows.append([section, *[""] * shown_count])
            for words, cells, line_total in lines:
                shown = dict(zip(all_keys, cells, strict=True))
                rows.append(
                    ["  " + words, *totals([_money(shown.get(k, 0)) for k in keys], line_total)]
                )
            section_totals = (
                statement.revenue_totals if section == "Revenue" else statement.expense_totals
            )
            total = statement.revenue_cents if section == "Revenue" else statement.expense_cents
            bold.append(len(rows))
            rows.append(
                [
                    f"Total {section.lower()}",
                    *totals([_money(section_totals[k]) for k in keys], total),
                ]
            )
        bold.append(len(rows))
        rows.append(
            ["Net income", *totals([_money(net[k]) for k in keys], statement.net_income_cents)]
        )
        header = ["Account", *(label for _, label in columns), *(["Total"] if last else [])]
        if number:
            pdf.ln(10)
        table(pdf, header, rows, widths=widths, bold_rows=bold)
    return bytes(pdf.output())


def balance_sheet_pdf(sheet: reports.BalanceSheet) -> bytes:
    pdf = letter_document(f"Balance sheet as of {formats.us_date(sheet.as_of)}")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    rows: list[list[str]] = []
    bold: list[int] = []
    for section, lines, total in sheet.sections():
        bold.append(len(rows))
        rows.append([section, ""])
        rows.extend(["  " + line.label, formats.money(line.amount)] for line in lines)
        bold.append(len(rows))
        rows.append([f"Total {section.lower()}", _money(total)])
    bold.append(len(rows))
    rows.append(["Liabilities and equity", _money(sheet.liabilities_cents + sheet.equity_cents)])
    table(pdf, ["", "Amount"], rows, widths=[width - 120, 120], bold_rows=bold, font_size=10)
    return bytes(pdf.output())


def _owed(amount: Decimal) -> str:
    """A balance as the patient reads it: what they owe, or their credit (never "-$70.00")."""
    return f"{formats.money(-amount)} credit" if amount < 0 else formats.money(amount)


def patient_statement_pdf(
    activity: reports.PatientActivity, *, patient_name: str, mrn: str
) -> bytes:
    pdf = letter_document(f"Statement of account: {patient_name} (MRN {mrn})")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    widths = [70.0, width - 70 - 3 * 80, 80.0, 80.0, 80.0]
    rows = [["", "Balance carried forward", "", "", _owed(activity.opening)]]
    for line in activity.lines:
        rows.append([
            formats.us_date(line.date), (line.source_text or line.source)[:70],
            formats.money(line.charge) if line.charge else "",
            formats.money(line.payment) if line.payment else "",
            _owed(line.balance),
        ])  # fmt: skip
    closing = activity.balance
    words = "Amount due" if closing > 0 else "Credit on account" if closing < 0 else "Balance"
    rows.append(["", words, "", "", formats.money(abs(closing))])  # the words say which it is
    table(pdf, ["Date", "Description", "Charges", "Payments", "Balance"], rows, widths=widths,
          bold_rows=[len(rows) - 1], aligns="LLRRR")  # fmt: skip
    return bytes(pdf.output())
