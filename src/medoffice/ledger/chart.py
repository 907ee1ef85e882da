"""The chart of accounts a new practice starts with: a template it may edit afterwards.

Each account has a `key` naming its job for the code that posts to it; the practice may
rename or renumber an account and the postings follow the key. Accounts marked
`per_location` are made for each location the first time something posts there
("cash_drawer:3" under "1010 Cash drawers").
"""

from __future__ import annotations

from dataclasses import dataclass

A, L, E, R, X = "asset", "liability", "equity", "revenue", "expense"


@dataclass(frozen=True)
class AccountTemplate:
    code: str
    name: str
    type: str
    key: str
    parent: str = ""  # the parent's key
    contra: bool = False  # its balance sits on the side opposite its type's
    postable: bool = True
    per_location: bool = False
    description: str = ""


CHART: tuple[AccountTemplate, ...] = (
    AccountTemplate("1000", "Cash and bank", A, "cash", postable=False),
    AccountTemplate(
        "1010", "Cash drawers", A, "cash_drawer", "cash", per_location=True,
        description="cash and checks taken at a location's desk until they are deposited",
    ),
    AccountTemplate(
        "1020", "Card payments clearing", A, "card_clearing", "cash",
        description="card payments until the processor's deposit reaches the bank",
    ),
    AccountTemplate("1030", "Bank: operating", A, "bank_operating", "cash"),
    AccountTemplate("1040", "Bank: payroll", A, "bank_payroll", "cash"),
    AccountTemplate("1100", "Receivables", A, "receivables", postable=False),
    AccountTemplate(
        "1110", "Patient accounts receivable", A, "patient_ar", "receivables",
        description="what patients owe; each line names the patient account",
    ),
    AccountTemplate(
        "1120", "Insurance accounts receivable", A, "insurance_ar", "receivables",
        description="what payers owe; a sub-account per payer is made on first posting",
    ),
    AccountTemplate("1200", "Inventory: medical supplies", A, "inventory_supplies"),
    AccountTemplate("1210", "Inventory: vaccines", A, "inventory_vaccines"),
    AccountTemplate("1300", "Prepaid expenses", A, "prepaid"),
    AccountTemplate("1400", "Short-term investments", A, "investments"),
    AccountTemplate("1500", "Equipment", A, "equipment"),
    AccountTemplate("1510", "Accumulated depreciation", A, "accumulated_depreciation", contra=True),
    AccountTemplate("2000", "Accounts payable", L, "accounts_payable"),
    AccountTemplate(
        "2100", "Unapplied patient payments", L, "unapplied_patient",
        description="money patients paid that no charge has taken yet; each line names the patient",
    ),
    AccountTemplate("2110", "Refunds payable", L, "refunds_payable"),
    AccountTemplate("2200", "Payroll liabilities", L, "payroll_liabilities", postable=False),
    AccountTemplate("2210", "Wages payable", L, "wages_payable", "payroll_liabilities"),
    AccountTemplate(
        "2220", "Payroll taxes payable", L, "payroll_taxes_payable", "payroll_liabilities"
    ),
    AccountTemplate("2230", "Deductions payable", L, "deductions_payable", "payroll_liabilities"),
    AccountTemplate("3000", "Owner's equity", E, "owner_equity"),
    AccountTemplate("3100", "Retained earnings", E, "retained_earnings"),
    AccountTemplate("4000", "Patient service revenue", R, "revenue", postable=False),
    AccountTemplate("4010", "Revenue: office visits", R, "revenue:office_visits", "revenue"),
    AccountTemplate("4020", "Revenue: procedures", R, "revenue:procedures", "revenue"),
    AccountTemplate("4030", "Revenue: laboratory", R, "revenue:laboratory", "revenue"),
    AccountTemplate("4040", "Revenue: immunizations", R, "revenue:immunizations", "revenue"),
    AccountTemplate("4090", "Revenue: other services", R, "revenue:other", "revenue"),
    AccountTemplate(
        "4900", "Contractual adjustments", R, "contractual_adjustments", contra=True,
        description="the part of a charge a payer's contract does not pay (reduces revenue)",
    ),
    AccountTemplate("5000", "Operating expenses", X, "expenses", postable=False),
    AccountTemplate("5010", "Bad debt", X, "bad_debt", "expenses"),
    AccountTemplate("5020", "Cash over and short", X, "cash_over_short", "expenses"),
    AccountTemplate("5030", "Bank and card fees", X, "card_fees", "expenses"),
    AccountTemplate("5100", "Salaries and wages", X, "wages_expense", "expenses"),
    AccountTemplate("5110", "Payroll taxes", X, "payroll_tax_expense", "expenses"),
    AccountTemplate("5120", "Employee benefits", X, "benefits_expense", "expenses"),
    AccountTemplate("5200", "Medical supplies", X, "supplies_expense", "expenses"),
    AccountTemplate("5300", "Rent and occupancy", X, "rent_expense", "expenses"),
    AccountTemplate("5400", "Depreciation", X, "depreciation_expense", "expenses"),
    AccountTemplate("5900", "Other expenses", X, "other_expense", "expenses"),
)  # fmt: skip

BY_KEY = {template.key: template for template in CHART}
