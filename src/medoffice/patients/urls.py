from django.urls import path

from medoffice.patients import views

app_name = "patients"
urlpatterns = [path("", views.search, name="search")]
