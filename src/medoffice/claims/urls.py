from django.urls import path

from medoffice.claims import (
    views,
    views_acks,
    views_batches,
    views_claims,
    views_cms1500,
    views_eligibility,
    views_encounters,
    views_mailbox,
    views_status,
)

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
    path("worklist/", views_claims.worklist, name="worklist"),
    path("claim/<int:pk>/", views_claims.claim_detail, name="claim_detail"),
    path("claim/<int:pk>/scrub", views_claims.claim_scrub, name="claim_scrub"),
    path("claim/<int:pk>/override", views_claims.claim_override, name="claim_override"),
    path("claim/<int:pk>/void", views_claims.claim_void, name="claim_void"),
    path("claim/<int:pk>/replace", views_claims.claim_replace, name="claim_replace"),
    path("claim/<int:pk>/payer-number", views_claims.claim_payer_number,
         name="claim_payer_number"),
    path("<int:claim_id>/cms1500.pdf", views_cms1500.claim_cms1500, name="claim_cms1500"),
    # Encounters and their coding
    path("encounters/", views_encounters.encounter_list, name="encounters"),
    path("encounters/<int:encounter_id>/", views_encounters.encounter_page, name="encounter"),
    path("encounters/<int:encounter_id>/finalize", views_encounters.encounter_finalize,
         name="encounter_finalize"),
    path("encounters/<int:encounter_id>/reopen", views_encounters.encounter_reopen,
         name="encounter_reopen"),
    path("encounters/<int:encounter_id>/claim", views_encounters.encounter_build_claim,
         name="encounter_build_claim"),
    path("encounters/from-appointment/<int:appointment_id>",
         views_encounters.encounter_from_appointment, name="encounter_from_appointment"),
    path("encounters/search/diagnoses", views_encounters.diagnosis_search,
         name="diagnosis_search"),
    path("encounters/search/procedures", views_encounters.procedure_search,
         name="procedure_search"),
    # Batches: build and send (a background job with a progress bar), past batches
    path("batches/", views_batches.batches, name="batches"),
    path("batches/start/", views_batches.batch_start, name="batch_start"),
    path("batches/jobs/<int:job_id>/", views_batches.batch_job, name="batch_job"),
    path("batches/jobs/<int:job_id>/progress/", views_batches.batch_job_progress,
         name="batch_job_progress"),
    path("batches/<int:batch_id>/", views_batches.batch_detail, name="batch"),
    path("batches/<int:batch_id>/file/", views_batches.batch_download, name="batch_download"),
    path("batches/<int:batch_id>/resend/", views_batches.batch_resend, name="batch_resend"),
    path("batches/<int:batch_id>/release/", views_batches.batch_release, name="batch_release"),
    # The clearinghouse mailbox
    path("mailbox/", views_mailbox.mailbox, name="mailbox"),
    path("mailbox/collect/", views_mailbox.collect_now, name="mailbox_collect"),
    path("clearinghouses/", views_mailbox.clearinghouses, name="clearinghouses"),
    path("clearinghouses/new/", views_mailbox.clearinghouse_edit, name="clearinghouse_new"),
    path("clearinghouses/<int:pk>/", views_mailbox.clearinghouse_edit, name="clearinghouse_edit"),
    path("clearinghouses/<int:pk>/test/", views_mailbox.clearinghouse_test,
         name="clearinghouse_test"),
    # Eligibility: a 270 sent for a coverage, or written for a payer portal
    path("eligibility/coverage/<int:coverage_id>/send", views_eligibility.eligibility_send,
         name="eligibility_send"),
    path("eligibility/coverage/<int:coverage_id>/file", views_eligibility.eligibility_file,
         name="eligibility_file"),
    path("eligibility/requests/<int:request_id>/270", views_eligibility.eligibility_download,
         name="eligibility_download"),
    # Response files applied by hand
    path("responses/apply/", views_acks.acks_apply, name="acks_apply"),
    path("status-requests/", views_status.status_requests, name="status_requests"),
]  # fmt: skip
