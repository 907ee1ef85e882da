"""The fee schedule's and the payer contracts' pages (included by coding/urls.py)."""

from django.urls import path

from medoffice.coding import views_fees

urlpatterns = [
    path("fees/", views_fees.fee_schedule, name="fees"),
    path("fees/set", views_fees.fee_set, name="fee_set"),
    path("fees/import", views_fees.fee_schedule_import, name="fees_import"),
    path("fees/expected/", views_fees.expected_payments, name="fees_expected"),
    path("contracts/", views_fees.contract_list, name="contracts"),
    path("contracts/new", views_fees.contract_new, name="contract_new"),
    path("contracts/<int:pk>/", views_fees.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit", views_fees.contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/rates", views_fees.contract_rate_set, name="contract_rate_set"),
    path(
        "contracts/<int:pk>/rates/import",
        views_fees.contract_rates_import,
        name="contract_rates_import",
    ),
    path("contracts/<int:pk>/end", views_fees.contract_end, name="contract_end"),
]
