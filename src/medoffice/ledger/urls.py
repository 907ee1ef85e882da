from django.urls import path

from medoffice.ledger import views, views_manage

app_name = "ledger"

urlpatterns = [
    path("", views.home, name="home"),
    path("trial-balance/", views.trial_balance, name="trial_balance"),
    path("manual/", views_manage.manual_entries, name="manual_entries"),
    path("manual/new/", views_manage.manual_entry_new, name="manual_entry_new"),
    path("entries/<int:entry_id>/", views_manage.entry_detail, name="entry_detail"),
    path("entries/<int:entry_id>/reverse/", views_manage.entry_reverse, name="entry_reverse"),
    path("periods/", views_manage.periods, name="periods"),
    path("periods/close/", views_manage.period_close, name="period_close"),
    path("periods/reopen/", views_manage.period_reopen, name="period_reopen"),
    path("periods/year/<int:year>/close/", views_manage.year_close, name="year_close"),
    path("accounts/", views_manage.chart, name="chart"),
    path("accounts/new/", views_manage.account_edit, name="account_new"),
    path("accounts/<int:account_id>/", views_manage.account_edit, name="account_edit"),
    path("accounts/<int:account_id>/active/", views_manage.account_active, name="account_active"),
    path("general-ledger/", views.accounts, name="general_ledger"),
    path("general-ledger/<int:account_id>/", views.account_detail, name="account_detail"),
    path("income-statement/", views.income_statement, name="income_statement"),
    path("balance-sheet/", views.balance_sheet, name="balance_sheet"),
    path("patients/<int:patient_id>/", views.patient_statement, name="patient_statement"),
    path("exports/", views.exports_page, name="exports"),
    path("exports/journal.<str:kind>", views.journal_export, name="journal_export"),
]
