from django.urls import path

from medoffice.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.home, name="home"),
    path("trial-balance/", views.trial_balance, name="trial_balance"),
    path("general-ledger/", views.accounts, name="general_ledger"),
    path("general-ledger/<int:account_id>/", views.account_detail, name="account_detail"),
    path("income-statement/", views.income_statement, name="income_statement"),
    path("balance-sheet/", views.balance_sheet, name="balance_sheet"),
    path("patients/<int:patient_id>/", views.patient_statement, name="patient_statement"),
    path("exports/", views.exports_page, name="exports"),
    path("exports/journal.<str:kind>", views.journal_export, name="journal_export"),
]
