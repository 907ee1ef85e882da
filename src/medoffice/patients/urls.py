from django.urls import path

from medoffice.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.search, name="search"),
    path("register/", views.register, name="register"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/active/", views.set_active, name="set_active"),
    path("<int:pk>/coverages/add/", views.coverage_add, name="coverage_add"),
    path("coverages/<int:coverage_id>/edit/", views.coverage_edit, name="coverage_edit"),
    path("coverages/<int:coverage_id>/end/", views.coverage_end, name="coverage_end"),
    path(
        "coverages/<int:coverage_id>/copay-from-271/",
        views.coverage_copay_from_271,
        name="coverage_copay_from_271",
    ),
    path(
        "coverages/<int:coverage_id>/withdraw/", views.coverage_withdraw, name="coverage_withdraw"
    ),
    path("coverages/<int:coverage_id>/eligibility/", views.eligibility_add, name="eligibility_add"),
    path("<int:pk>/authorizations/add/", views.authorization_form, name="authorization_add"),
    path(
        "<int:pk>/authorizations/<int:authorization_id>/",
        views.authorization_form,
        name="authorization_edit",
    ),
    path("<int:pk>/documents/add/", views.document_upload, name="document_upload"),
    path("documents/<int:document_id>/", views.document_download, name="document_download"),
    path("payers/", views.payers, name="payers"),
    path("payers/add/", views.payer_form, name="payer_add"),
    path("payers/<int:payer_id>/", views.payer_form, name="payer_edit"),
    path("merge/", views.merge, name="merge"),
]
