"""Routes of reminders and calendar feeds, included by the scheduling app's urls."""

from django.urls import path

from medoffice.scheduling import views_reminders as views

urlpatterns = [
    path("reminders/", views.reminders_overview, name="reminders"),
    path("r/<str:token>/", views.reminder_link, name="reminder_link"),
    path("calendar-feeds/", views.calendar_feeds, name="calendar_feeds"),
    path("ical/<str:token>.ics", views.ical_feed, name="ical_feed"),
]
