from django.urls import include, path

from medoffice.scheduling import views

app_name = "scheduling"
urlpatterns = [path("", views.day, name="day")]
urlpatterns.append(path("", include("medoffice.scheduling.urls_reminders")))
