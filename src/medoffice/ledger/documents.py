"""The statements as PDF: the income statement, the balance sheet, a patient's account."""

from __future__ import annotations

from medoffice.core import formats
from medoffice.core.pdf import letter_document, table
from medoffice.ledger import reports
from medoffice.ledger.models import to_dollars


def _money(cents: int) -> str:
    return formats.money(to_dollars(cents))


def income_statement_pdf(statement: reports.IncomeStatement) -> bytes:
    period = f"{formats.us_date(statement.since)} to {formats.us_date(statement.until)}"
    columns = statement.columns[-8:] if len(statement.columns) > 8 else statement.columns
    keys = [key for key, _ in columns]
    pdf = letter_document(f"Income statement, {period}", landscape=len(keys) > 3)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    first = 190.0
    rest = (width - first) / (len(keys) + 1)
    widths = [first, *([rest] * (len(keys) + 1))]
    rows: list[list[str]] = []
    bold: list[int] = []
    table_rows = statement.table()
    for section, lines, _totals, _total in table_rows:
        bold.append(len(rows))
        rows.append([section, *[""] * (len(keys) + 1)])
        for words, cells, line_total in lines:
            shown = dict(zip([k for k, _ in statement.columns], cells, strict=True))
            rows.append(["  " + words, *(_money(shown.get(k, 0)) for k in keys),
                         _money(line_total)])  # fmt: skip
        section_totals = (
            statement.revenue_totals if section == "Revenue" else statement.expense_totals
        )
        total = statement.revenue_cents if section == "Revenue" else statement.expense_cents
        bold.append(len(rows))
        rows.append([f"Total {section.lower()}", *(_money(section_totals[k]) for k in keys),
                     _money(total)])  # fmt: skip
    net = statement.net_totals
    bold.append(len(rows))
    rows.append(["Net income", *(_money(net[k]) for k in keys),
                 _money(statement.net_income_cents)])  # fmt: skip
    header = ["Account", *(label for _, label in columns), "Total"]
    table(pdf, header, rows, widths=widths, bold_rows=bold)
    if len(columns) < len(statement.columns):
        pdf.ln(6)
        pdf.set_font("Helvetica", "I", 8)
        pdf.cell(width, 12, "Only the last 8 columns are shown; the total covers the whole range.")
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


def patient_statement_pdf(
    activity: reports.PatientActivity, *, patient_name: str, mrn: str
) -> bytes:
    pdf = letter_document(f"Statement of account: {patient_name} (MRN {mrn})")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    widths = [70.0, width - 70 - 3 * 80, 80.0, 80.0, 80.0]
    rows = [["", "Balance carried forward", "", "", formats.money(activity.opening)]]
    for line in activity.lines:
        rows.append([
            formats.us_date(line.date), f"{line.memo or line.source} ({line.account})"[:70],
            formats.money(line.charge) if line.charge else "",
            formats.money(line.payment) if line.payment else "",
            formats.money(line.balance),
        ])  # fmt: skip
    rows.append(["", "Balance", "", "", formats.money(activity.balance)])
    table(pdf, ["Date", "Description", "Charges", "Payments", "Balance"], rows, widths=widths,
          bold_rows=[len(rows) - 1], aligns="LLRRR")  # fmt: skip
    return bytes(pdf.output())
