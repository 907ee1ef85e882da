"""What the app's PDF documents share (fpdf2): text the built-in fonts can draw, a page with
the practice's letterhead, and a table of label/amount rows."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from fpdf import FPDF


def pdf_text(value) -> str:
    """Text the PDF's built-in fonts can draw: accents kept where Latin-1 has them."""
    text = str(value or "")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFC", text).encode("latin-1", "replace").decode("latin-1")
    return text


def letter_document(title: str, *, landscape: bool = False) -> FPDF:
    """A Letter page with the practice's name at the top and `title` under it."""
    from medoffice.core.selectors import practice_or_none

    practice = practice_or_none()
    pdf = FPDF(orientation="L" if landscape else "P", format="Letter", unit="pt")
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(practice.legal_name if practice else "medoffice"))
    pdf.set_creator("medoffice")
    pdf.set_margins(54, 54, 54)
    pdf.set_auto_page_break(True, margin=54)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 14)
    name = practice.legal_name if practice else "medoffice"
    pdf.cell(width, 20, pdf_text(name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(width, 18, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    return pdf


def table(
    pdf: FPDF,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    widths: Sequence[float],
    bold_rows: Sequence[int] = (),
    font_size: int = 9,
    aligns: str = "",
) -> None:
    """Rows of cells; `aligns` one letter (L/R) a column, by default the first column
    left-aligned and the others right-aligned (amounts)."""
    height = font_size + 5
    aligns = aligns or "L" + "R" * (len(widths) - 1)

    def line(cells: Sequence[str], style: str) -> None:
        pdf.set_font("Helvetica", style, font_size)
        for n, (cell, width) in enumerate(zip(cells, widths, strict=False)):
            pdf.cell(width, height, pdf_text(cell), align=aligns[n])
        pdf.ln(height)

    line(header, "B")
    for n, cells in enumerate(rows):
        line(cells, "B" if n in bold_rows else "")
