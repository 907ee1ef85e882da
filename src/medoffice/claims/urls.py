from django.urls import path

from medoffice.claims import views, views_cms1500, views_encounters

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:claim_id>/cms1500.pdf", views_cms1500.claim_cms1500, name="claim_cms1500"),
    path("encounters/", views_encounters.encounter_list, name="encounters"),
    path("encounters/<int:encounter_id>/", views_encounters.encounter_page, name="encounter"),
    path("encounters/<int:encounter_id>/finalize", views_encounters.encounter_finalize,
         name="encounter_finalize"),
    path("encounters/<int:encounter_id>/reopen", views_encounters.encounter_reopen,
         name="encounter_reopen"),
    path("encounters/from-appointment/<int:appointment_id>",
         views_encounters.encounter_from_appointment, name="encounter_from_appointment"),
    path("encounters/search/diagnoses", views_encounters.diagnosis_search,
         name="diagnosis_search"),
    path("encounters/search/procedures", views_encounters.procedure_search,
         name="procedure_search"),
]  # fmt: skip
