from django.urls import path

from medoffice.coding import urls_fees, views

app_name = "coding"

urlpatterns = [
    path("", views.home, name="home"),
    path("codes/", views.codes, name="codes"),
    path("import/", views.code_set_import, name="import"),
    *urls_fees.urlpatterns,
]
