from django.urls import include, path
from django.views.i18n import set_language

from deliberation import views
from members.views import LoginView, LogoutView, home

urlpatterns = [
    path("", home, name="home"),
    path("health/", views.health, name="health"),
    path("health/ready/", views.health_ready, name="health_ready"),
    path("sw.js", views.service_worker, name="service_worker"),
    path(
        "accounts/login/",
        LoginView.as_view(),
        name="login",
    ),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("members.urls")),
    path("", include("public.urls")),
    path("", include("issues.urls")),
    path("", include("reports.urls")),
    path("", include("deliberation.meeting_urls")),
    path("", include("deliberation.schedule_urls")),
    path("", include("deliberation.calendar_urls")),
    path("", include("deliberation.minutes_urls")),
    path("", include("volunteers.urls")),
    path("", include("visits.urls")),
]
