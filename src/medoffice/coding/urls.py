from django.urls import path

from medoffice.coding import urls_fees, views

app_name = "coding"

urlpatterns = [
    path("", views.home, name="home"),
    *urls_fees.urlpatterns,
]
