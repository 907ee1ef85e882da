"""The CMS-1500 (02/12) paper claim: the claim's values printed in the form's boxes.

The form is laid out for 10 characters an inch and 6 lines an inch (the NUCC print grid),
so each value is placed by its line and column on that grid. `with_form=True` also draws
the boxes and their labels in red, for plain paper; without it only the values print, for
the pre-printed red forms payers scan. Six service lines fit a page; a longer claim
continues on more pages, with the total only on the last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fpdf import FPDF

from medoffice.claims.models import Claim
from medoffice.core.models import Practice
from medoffice.core.pdf import pdf_text

COLUMN_PT = 7.2  # 10 characters an inch
LINE_PT = 12.0  # 6 lines an inch
LEFT_PT = 14.0  # column 1's left edge on a letter page
TOP_PT = 9.0  # line 1's top edge
LINES_PER_PAGE = 6
POINTER_LETTERS = "ABCDEFGHIJKL"


@dataclass(frozen=True)
class FormLine:
    """One service line in the form's terms (24A-24J)."""

    date_from: date
    date_to: date
    place_of_service: str
    code: str
    modifiers: tuple[str, ...]
    pointers: str  # letters, e.g. "AB"
    charge_cents: int
    units: int
    rendering_npi: str
    ndc_note: str = ""  # the shaded part: N4 + NDC + unit and quantity


@dataclass(frozen=True)
class ClaimForm:
    """Every box the practice fills, as text ready to print."""

    payer_name: str
    payer_address: tuple[str, ...]
    insurance_type: str  # medicare, medicaid, tricare, champva, group, feca, other
    insured_id: str  # 1a
    patient_name: str  # 2 LAST, FIRST, MI
    patient_birth: date  # 3
    patient_sex: str  # M / F / ""
    insured_name: str  # 4
    patient_address: tuple[str, str, str, str, str]  # 5 street, city, state, zip, phone
    relationship: str  # 6 self, spouse, child, other
    insured_address: tuple[str, str, str, str, str]  # 7
    insured_group: str  # 11
    insured_birth: date | None  # 11a
    insured_sex: str
    plan_name: str  # 11c
    another_plan: bool  # 11d
    referring_name: str  # 17
    referring_npi: str  # 17b
    diagnoses: tuple[str, ...]  # 21 A-L, without dots
    resubmission_code: str  # 22: 7 or 8
    original_reference: str
    prior_authorization: str  # 23
    lines: tuple[FormLine, ...]
    tax_id: str  # 25
    account_number: str  # 26
    total_cents: int  # 28
    paid_cents: int  # 29
    physician_signature: str  # 31
    signature_date: date
    facility: tuple[str, ...]  # 32 name, street, city state zip
    facility_npi: str  # 32a
    billing: tuple[str, ...]  # 33 name, street, city state zip
    billing_phone: str
    billing_npi: str  # 33a
    notes: list[str] = field(default_factory=list)


# Where each box prints: (line, column) on the 10 cpi / 6 lpi grid, 1-based.
INSURANCE_TYPE_COLUMNS = {
    "medicare": 2, "medicaid": 9, "tricare": 16, "champva": 24, "group": 31, "feca": 39,
    "other": 45,
}  # fmt: skip
RELATIONSHIP_COLUMNS = {"self": 33, "spouse": 38, "child": 42, "other": 47}
FIRST_SERVICE_LINE = 46  # the unshaded half of line 1 of 24; the shaded half is just above


def dollars_and_cents(cents: int) -> tuple[str, str]:
    """The form's money: whole dollars and cents in their own columns, no float."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}", f"{rest:02d}"


def _mmddyyyy(day: date | None) -> str:
    return day.strftime("%m %d %Y") if day else ""


def _mmddyy(day: date) -> str:
    return day.strftime("%m %d %y")


class _Sheet:
    """One FPDF document with grid placement helpers."""

    def __init__(self, with_form: bool) -> None:
        self.pdf = FPDF(orientation="P", unit="pt", format="Letter")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_creator("medoffice")
        self.pdf.set_title("CMS-1500 (02/12)")
        self.with_form = with_form

    def page(self) -> None:
        self.pdf.add_page()
        if self.with_form:
            _draw_form(self.pdf)
        self.pdf.set_text_color(0, 0, 0)
        self.pdf.set_font("Courier", "", 10)

    def put(self, line: int, column: int, text: str, *, width: int = 0) -> None:
        """Text starting at a grid cell; `width` characters right-aligns it in that many."""
        value = pdf_text(text).upper()
        if width:
            value = value[-width:].rjust(width)
        x = LEFT_PT + (column - 1) * COLUMN_PT
        y = TOP_PT + (line - 1) * LINE_PT
        self.pdf.set_xy(x, y)
        self.pdf.cell(COLUMN_PT * max(len(value), 1), LINE_PT, value)

    def mark(self, line: int, column: int) -> None:
        self.put(line, column, "X")


def render(form: ClaimForm, *, with_form: bool = False) -> bytes:
    sheet = _Sheet(with_form)
    pages = [
        form.lines[start : start + LINES_PER_PAGE]
        for start in range(0, max(len(form.lines), 1), LINES_PER_PAGE)
    ]
    for number, lines in enumerate(pages, start=1):
        sheet.page()
        _header(sheet, form)
        _service_lines(sheet, lines)
        _footer(sheet, form, last=number == len(pages), page=number, pages=len(pages))
    return bytes(sheet.pdf.output())


def _header(sheet: _Sheet, form: ClaimForm) -> None:
    for offset, text in enumerate((form.payer_name, *form.payer_address)[:4]):
        sheet.put(2 + offset, 41, text)
    if form.insurance_type in INSURANCE_TYPE_COLUMNS:
        sheet.mark(8, INSURANCE_TYPE_COLUMNS[form.insurance_type])
    sheet.put(8, 50, form.insured_id)
    sheet.put(10, 2, form.patient_name)
    sheet.put(10, 31, _mmddyyyy(form.patient_birth))
    if form.patient_sex in ("M", "F"):
        sheet.mark(10, 42 if form.patient_sex == "M" else 47)
    sheet.put(10, 50, form.insured_name)
    _address(sheet, 12, 2, form.patient_address, state_column=26)
    if form.relationship in RELATIONSHIP_COLUMNS:
        sheet.mark(12, RELATIONSHIP_COLUMNS[form.relationship])
    _address(sheet, 12, 50, form.insured_address, state_column=74)
    sheet.put(18, 50, form.insured_group)
    sheet.put(20, 53, _mmddyyyy(form.insured_birth))
    if form.insured_sex in ("M", "F"):
        sheet.mark(20, 68 if form.insured_sex == "M" else 75)
    for line in (20, 22, 24):  # 10a-c: not related to employment or an accident
        sheet.mark(line, 41)
    sheet.put(24, 50, form.plan_name)
    sheet.mark(26, 52 if form.another_plan else 57)
    sheet.put(30, 7, "SIGNATURE ON FILE")
    sheet.put(30, 56, "SIGNATURE ON FILE")
    if form.referring_name:
        sheet.put(34, 1, "DN")
        sheet.put(34, 4, form.referring_name[:26])
        sheet.put(34, 34, form.referring_npi)
    sheet.put(37, 38, "0")  # 21: ICD-10
    for index, code in enumerate(form.diagnoses[:12]):
        row, position = divmod(index, 4)
        sheet.put(38 + 2 * row, 3 + 13 * position, code)
    if form.resubmission_code:
        sheet.put(38, 50, form.resubmission_code)
        sheet.put(38, 62, form.original_reference)
    sheet.put(40, 50, form.prior_authorization)


def _address(
    sheet: _Sheet, line: int, column: int, parts: tuple[str, ...], *, state_column: int
) -> None:
    street, city, state, zip_code, phone = parts
    sheet.put(line, column, street[:28])
    sheet.put(line + 2, column, city[:24])
    sheet.put(line + 2, state_column, state)
    sheet.put(line + 4, column, zip_code)
    sheet.put(line + 4, column + 15, phone)


def _service_lines(sheet: _Sheet, lines: tuple[FormLine, ...]) -> None:
    for index, item in enumerate(lines):
        row = FIRST_SERVICE_LINE + 2 * index
        if item.ndc_note:
            sheet.put(row - 1, 1, item.ndc_note)
        sheet.put(row, 1, _mmddyy(item.date_from))
        sheet.put(row, 10, _mmddyy(item.date_to))
        sheet.put(row, 19, item.place_of_service)
        sheet.put(row, 25, item.code)
        for position, modifier in enumerate(item.modifiers[:4]):
            sheet.put(row, 32 + 3 * position, modifier)
        sheet.put(row, 45, item.pointers[:4])
        whole, cents = dollars_and_cents(item.charge_cents)
        sheet.put(row, 50, whole, width=8)
        sheet.put(row, 58, cents)
        sheet.put(row, 61, str(item.units), width=3)
        sheet.put(row, 68, item.rendering_npi)


def _footer(sheet: _Sheet, form: ClaimForm, *, last: bool, page: int, pages: int) -> None:
    sheet.put(58, 1, form.tax_id)
    sheet.mark(58, 19)  # EIN
    sheet.put(58, 23, form.account_number)
    sheet.mark(58, 38)  # accept assignment: yes
    if last:
        whole, cents = dollars_and_cents(form.total_cents)
        sheet.put(58, 52, whole, width=7)
        sheet.put(58, 59, cents)
        whole, cents = dollars_and_cents(form.paid_cents)
        sheet.put(58, 62, whole, width=6)
        sheet.put(58, 68, cents)
    else:
        sheet.put(58, 52, "CONTINUED")
    sheet.put(62, 50, form.billing_phone)  # box 33's free line, clear of 28 and 29
    for offset, text in enumerate(form.facility[:3]):
        sheet.put(59 + offset, 23, text[:26])
    for offset, text in enumerate(form.billing[:3]):
        sheet.put(59 + offset, 50, text[:29])
    sheet.put(61, 1, form.physician_signature[:20])
    sheet.put(62, 1, form.signature_date.strftime("%m %d %Y"))
    sheet.put(63, 23, form.facility_npi)
    sheet.put(63, 50, form.billing_npi)
    if pages > 1:
        sheet.put(65, 1, f"PAGE {page} OF {pages}")


# The red outline for plain paper: each box as (line, column, lines tall, columns wide, label).
FORM_BOXES: tuple[tuple[int, int, int, int, str], ...] = (
    (7, 1, 2, 49, "1. MEDICARE  MEDICAID  TRICARE  CHAMPVA  GROUP HEALTH PLAN  FECA  OTHER"),
    (7, 50, 2, 30, "1a. INSURED'S I.D. NUMBER"),
    (9, 1, 2, 29, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)"),
    (9, 30, 2, 20, "3. PATIENT'S BIRTH DATE  SEX"),
    (9, 50, 2, 30, "4. INSURED'S NAME (Last Name, First Name, Middle Initial)"),
    (11, 1, 6, 29, "5. PATIENT'S ADDRESS (No., Street)"),
    (11, 30, 2, 20, "6. PATIENT RELATIONSHIP TO INSURED"),
    (11, 50, 6, 30, "7. INSURED'S ADDRESS (No., Street)"),
    (17, 1, 10, 29, "9. OTHER INSURED'S NAME"),
    (17, 30, 10, 20, "10. IS PATIENT'S CONDITION RELATED TO:"),
    (17, 50, 2, 30, "11. INSURED'S POLICY GROUP OR FECA NUMBER"),
    (19, 50, 2, 30, "a. INSURED'S DATE OF BIRTH  SEX"),
    (23, 50, 2, 30, "c. INSURANCE PLAN NAME OR PROGRAM NAME"),
    (25, 50, 2, 30, "d. IS THERE ANOTHER HEALTH BENEFIT PLAN?"),
    (27, 1, 4, 49, "12. PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE"),
    (27, 50, 4, 30, "13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE"),
    (33, 1, 2, 29, "17. NAME OF REFERRING PROVIDER OR OTHER SOURCE"),
    (33, 30, 2, 20, "17b. NPI"),
    (36, 1, 7, 49, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY  ICD Ind."),
    (37, 50, 2, 30, "22. RESUBMISSION CODE  ORIGINAL REF. NO."),
    (39, 50, 2, 30, "23. PRIOR AUTHORIZATION NUMBER"),
    (43, 1, 2, 79, "24. A. DATE(S) OF SERVICE  B. POS  C. EMG  D. PROCEDURES  E. POINTER  "
                   "F. $ CHARGES  G. UNITS  H.  I.  J. RENDERING PROVIDER ID. #"),
    (45, 1, 12, 79, ""),
    (57, 1, 2, 22, "25. FEDERAL TAX I.D. NUMBER  SSN EIN"),
    (57, 23, 2, 14, "26. PATIENT'S ACCOUNT NO."),
    (57, 37, 2, 13, "27. ACCEPT ASSIGNMENT?"),
    (57, 50, 2, 11, "28. TOTAL CHARGE"),
    (57, 61, 2, 10, "29. AMOUNT PAID"),
    (57, 71, 2, 9, "30. Rsvd for NUCC Use"),
    (59, 1, 5, 22, "31. SIGNATURE OF PHYSICIAN OR SUPPLIER"),
    (59, 23, 5, 27, "32. SERVICE FACILITY LOCATION INFORMATION"),
    (59, 50, 5, 30, "33. BILLING PROVIDER INFO & PH #"),
)  # fmt: skip


def _draw_form(pdf: FPDF) -> None:
    pdf.set_draw_color(200, 30, 30)
    pdf.set_text_color(200, 30, 30)
    pdf.set_line_width(0.5)
    pdf.set_font("Helvetica", "B", 11)
    pdf.set_xy(LEFT_PT, TOP_PT)
    pdf.cell(300, 14, "HEALTH INSURANCE CLAIM FORM")
    pdf.set_font("Helvetica", "", 6)
    pdf.set_xy(LEFT_PT, TOP_PT + 14)
    pdf.cell(300, 8, "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12")
    for line, column, tall, wide, label in FORM_BOXES:
        x = LEFT_PT + (column - 1) * COLUMN_PT
        y = TOP_PT + (line - 1) * LINE_PT
        pdf.rect(x, y, wide * COLUMN_PT, tall * LINE_PT)
        if label:
            pdf.set_xy(x + 1, y)
            pdf.cell(wide * COLUMN_PT - 2, 6, label)
    for index in range(1, LINES_PER_PAGE + 1):
        y = TOP_PT + (FIRST_SERVICE_LINE - 2 + 2 * index) * LINE_PT
        pdf.line(LEFT_PT, y, LEFT_PT + 79 * COLUMN_PT, y)
        pdf.set_xy(LEFT_PT - 10, y - LINE_PT)
        pdf.cell(8, LINE_PT, str(index))


# --- From a claim in the database ----------------------------------------------------------

PLAN_TYPE_BOX = {"medicare": "medicare", "medicaid": "medicaid", "tricare": "tricare"}


def _phone(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())[-10:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else ""


def _name(last: str, first: str, middle: str = "") -> str:
    return ", ".join(part for part in (last, first, middle[:1]) if part)


def form_for_claim(claim: Claim) -> ClaimForm:
    """The form's boxes from the claim as built (its lines and diagnoses, not the encounter's
    current ones)."""

    claim = (
        Claim.objects.select_related(
            "encounter__patient",
            "encounter__location",
            "encounter__rendering_provider",
            "coverage",
            "payer",
            "replaces",
        )
        .prefetch_related("lines", "diagnoses")
        .get(pk=claim.pk)
    )
    encounter = claim.encounter
    patient = encounter.patient
    coverage = claim.coverage
    payer = claim.payer
    provider = encounter.rendering_provider
    location = encounter.location
    practice = Practice.objects.get()
    diagnoses = list(claim.diagnoses.all())
    ranks = {d.rank: POINTER_LETTERS[d.rank - 1] for d in diagnoses}
    patient_address = (
        " ".join(p for p in (patient.address_line1, patient.address_line2) if p),
        patient.city, patient.state, patient.zip_code, _phone(patient.phone),
    )  # fmt: skip
    is_self = coverage.subscriber_relationship == "self"
    lines = []
    for line in claim.lines.all():
        ndc_note = ""
        if line.ndc:
            quantity = line.ndc_quantity.normalize() if line.ndc_quantity is not None else ""
            ndc_note = f"N4{line.ndc} {line.ndc_unit}{quantity}"
        lines.append(
            FormLine(
                date_from=encounter.date_of_service,
                date_to=encounter.date_of_service,
                place_of_service=encounter.place_of_service,
                code=line.code,
                modifiers=tuple(line.modifiers),
                pointers="".join(ranks.get(int(p), "") for p in line.diagnosis_pointers),
                charge_cents=line.charge_cents,
                units=line.units,
                rendering_npi=provider.npi,
                ndc_note=ndc_note,
            )
        )
    resubmission = claim.frequency_code if claim.frequency_code in ("7", "8") else ""
    original = claim.replaces.payer_claim_number if claim.replaces is not None else ""
    return ClaimForm(
        payer_name=payer.name,
        payer_address=tuple(
            p
            for p in (
                payer.address_line1,
                payer.address_line2,
                f"{payer.city} {payer.state} {payer.zip_code}".strip(),
            )
            if p
        ),
        insurance_type=PLAN_TYPE_BOX.get(payer.plan_type, "group"),
        insured_id=coverage.member_id,
        patient_name=_name(patient.last_name, patient.first_name, patient.middle_name),
        patient_birth=patient.date_of_birth,
        patient_sex=patient.sex if patient.sex in ("M", "F") else "",
        insured_name=(
            _name(patient.last_name, patient.first_name, patient.middle_name)
            if is_self
            else _name(coverage.subscriber_last_name, coverage.subscriber_first_name)
        ),
        patient_address=patient_address,
        relationship=coverage.subscriber_relationship,
        insured_address=patient_address if is_self else ("", "", "", "", ""),
        insured_group=coverage.group_number,
        insured_birth=patient.date_of_birth if is_self else coverage.subscriber_date_of_birth,
        insured_sex=(patient.sex if is_self else coverage.subscriber_sex) or "",
        plan_name=coverage.plan_name,
        another_plan=False,
        referring_name=encounter.referring_provider_name,
        referring_npi=encounter.referring_provider_npi,
        diagnoses=tuple(d.code.replace(".", "") for d in diagnoses),
        resubmission_code=resubmission,
        original_reference=(original or claim.payer_claim_number) if resubmission else "",
        prior_authorization=encounter.prior_authorization,
        lines=tuple(lines),
        tax_id=practice.tax_id,
        account_number=claim.control_number,
        total_cents=claim.total_charge_cents,
        paid_cents=0,
        physician_signature=f"{provider.first_name} {provider.last_name} {provider.credentials}",
        signature_date=claim.created_at.date(),
        facility=(
            location.name,
            location.address_line1,
            f"{location.city} {location.state} {location.zip_code}",
        ),
        facility_npi=practice.group_npi,
        billing=(
            practice.legal_name,
            practice.address_line1,
            f"{practice.city} {practice.state} {practice.zip_code}",
        ),
        billing_phone=_phone(practice.phone),
        billing_npi=practice.group_npi,
    )
