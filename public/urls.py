"""Pages for residents without an account, and the poster that leads them there."""

from django.urls import path

from public import asked_views, transparency_views
from public import views as public_views

app_name = "public"

urlpatterns = [
    path("r/<str:token>/", public_views.report, name="report"),
    path("r/<str:token>/visit/", asked_views.ask_visit, name="ask_visit"),
    path("r/<str:token>/visit/asked/", asked_views.visit_asked, name="visit_asked"),
    path("r/<str:token>/join/", public_views.join, name="join"),
    path("r/<str:token>/join/sent/", public_views.joined, name="joined"),
    path("r/<str:token>/open/", transparency_views.transparency, name="transparency"),
    path("t/", public_views.track, name="track"),
    path("t/<str:code>/", public_views.track_issue, name="track_issue"),
    path("t/<str:code>/rating-link/", public_views.resend_rating_link, name="resend_rating_link"),
    path("t/<str:code>/reported/", public_views.reported, name="reported"),
    path("rate/<str:token>/", public_views.rate, name="rate"),
    path("communities/<int:community_id>/poster/", public_views.poster, name="poster"),
    path(
        "communities/<int:community_id>/poster/qr.svg",
        public_views.poster_svg,
        name="poster_svg",
    ),
    path(
        "communities/<int:community_id>/poster/transparency/",
        transparency_views.transparency_switch,
        name="transparency_switch",
    ),
    path(
        "communities/<int:community_id>/poster/open-qr.svg",
        transparency_views.transparency_qr,
        name="transparency_qr",
    ),
]
