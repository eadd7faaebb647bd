from django.urls import path

from deliberation import calendar_views

app_name = "calendars"

urlpatterns = [
    path("ical/<slug:token>.ics", calendar_views.ical_feed, name="feed"),
    path("meetings/calendar/", calendar_views.calendar_page, name="page"),
    path("meetings/calendar/addresses/", calendar_views.calendar_make, name="make"),
    path("meetings/calendar/reset/", calendar_views.calendar_reset, name="reset"),
]
