from django.urls import path

from medoffice.coding import views

app_name = "coding"

urlpatterns = [
    path("", views.home, name="home"),
]
