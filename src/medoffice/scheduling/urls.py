from django.urls import include, path

from medoffice.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("", views.day, name="day"),
    path("week/", views.week, name="week"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="cancel"),
    path("appointments/<int:pk>/no-show/", views.appointment_no_show, name="no_show"),
    path("appointments/<int:pk>/check-in/", views.appointment_check_in, name="check_in"),
    path("appointments/<int:pk>/reschedule/", views.appointment_reschedule, name="reschedule"),
    path("book/", views.book, name="book"),
    path("book/patients/", views.patient_options, name="patient_options"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<int:pk>/remove/", views.waitlist_remove, name="waitlist_remove"),
    path("waitlist/offers/<int:pk>/", views.offer_respond, name="offer_respond"),
    path("setup/", views.setup, name="setup"),
    path("setup/types/new/", views.type_edit, name="type_new"),
    path("setup/types/<int:pk>/", views.type_edit, name="type_edit"),
    path("setup/rooms/new/", views.room_edit, name="room_new"),
    path("setup/rooms/<int:pk>/", views.room_edit, name="room_edit"),
    path("setup/templates/", views.templates, name="templates"),
    path("setup/templates/<int:pk>/", views.template_detail, name="template"),
    path("setup/closures/", views.closures, name="closures"),
]
urlpatterns.append(path("", include("medoffice.scheduling.urls_reminders")))
