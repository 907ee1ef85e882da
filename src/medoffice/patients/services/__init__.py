"""Every write of the patients app, by concern: registration (patients and MRNs), coverages
(payers, coverages, eligibility), authorizations, documents, and the merge of duplicate
records.

Callers import from here (`from medoffice.patients import services`); each name below is
defined in one submodule.
"""

from __future__ import annotations

from medoffice.patients.services._common import Errors
from medoffice.patients.services.authorizations import (
    AUTHORIZATION_FIELDS,
    authorization_release_visit,
    authorization_save,
    authorization_use_visit,
)
from medoffice.patients.services.coverages import (
    COVERAGE_FIELDS,
    PAYER_FIELDS,
    coverage_add,
    coverage_copay_from_271,
    coverage_end,
    coverage_update,
    coverage_withdraw,
    eligibility_record,
    payer_save,
)
from medoffice.patients.services.documents import (
    DOCUMENT_TYPES,
    document_delete,
    document_download,
    document_upload,
    max_document_bytes,
    sniff_content_type,
)
from medoffice.patients.services.merge import (
    moved_by_handler,
    on_merge,
    patient_merge,
)
from medoffice.patients.services.registration import (
    MRN_WIDTH,
    OLDEST_AGE_YEARS,
    PATIENT_FIELDS,
    next_mrn,
    patient_field_errors,
    patient_register,
    patient_set_active,
    patient_update,
    reserve_mrns,
)

__all__ = [
    "AUTHORIZATION_FIELDS",
    "COVERAGE_FIELDS",
    "DOCUMENT_TYPES",
    "MRN_WIDTH",
    "OLDEST_AGE_YEARS",
    "PATIENT_FIELDS",
    "PAYER_FIELDS",
    "Errors",
    "authorization_release_visit",
    "authorization_save",
    "authorization_use_visit",
    "coverage_add",
    "coverage_copay_from_271",
    "coverage_end",
    "coverage_update",
    "coverage_withdraw",
    "document_delete",
    "document_download",
    "document_upload",
    "eligibility_record",
    "max_document_bytes",
    "moved_by_handler",
    "next_mrn",
    "on_merge",
    "patient_field_errors",
    "patient_merge",
    "patient_register",
    "patient_set_active",
    "patient_update",
    "payer_save",
    "reserve_mrns",
    "sniff_content_type",
]
