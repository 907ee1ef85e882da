from django.urls import path

from medoffice.scheduling import views

app_name = "scheduling"
urlpatterns = [path("", views.day, name="day")]
