from django.urls import path

from medoffice.claims import views

app_name = "claims"

urlpatterns = [
    path("", views.home, name="home"),
]
