from django.urls import path

from medoffice.reception import views

app_name = "reception"
urlpatterns = [path("", views.flow_board, name="flow_board")]
