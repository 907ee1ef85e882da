from django.urls import path

from medoffice.ledger import views

app_name = "ledger"

urlpatterns = [
    path("", views.home, name="home"),
    path("trial-balance/", views.trial_balance, name="trial_balance"),
]
