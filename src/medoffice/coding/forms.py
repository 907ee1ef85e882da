"""Coding's forms: the import page's fields (the service checks the file itself)."""

from __future__ import annotations

from django import forms

from medoffice.coding.imports import FILE_KINDS


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=list(FILE_KINDS.items()))
    file = forms.FileField(help_text="CMS's tab-separated file, or the practice's CPT CSV")
    label = forms.CharField(
        required=False, max_length=80, help_text="e.g. 2024 Q3 (empty: from the file's name)"
    )
    effective = forms.DateField(
        label="Effective date", required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="the day the release takes effect (empty: from the file's name)",
    )  # fmt: skip
    column_map = forms.CharField(
        label="CPT columns", required=False, max_length=300,
        help_text="CPT only: code=COLUMN,short=COLUMN[,long=COLUMN,effective=COLUMN,"
        "termination=COLUMN]",
    )  # fmt: skip
