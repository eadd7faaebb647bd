from django.urls import path

from deliberation import minutes_views

app_name = "minutes"

urlpatterns = [
    path("meetings/<int:pk>/minutes/", minutes_views.meeting_minutes, name="meeting"),
    path("meetings/<int:pk>/minutes/draft/", minutes_views.minutes_draft, name="draft"),
    path("minutes/<int:pk>/", minutes_views.minutes_detail, name="detail"),
    path("minutes/<int:pk>/edit/", minutes_views.minutes_edit, name="edit"),
    path("minutes/<int:pk>/approve/", minutes_views.minutes_approve, name="approve"),
    path("minutes/<int:pk>/correct/", minutes_views.minutes_correct, name="correct"),
    path("minutes/<int:pk>/pdf/", minutes_views.minutes_pdf_view, name="pdf"),
    path("councils/<int:pk>/minutes/", minutes_views.council_minutes, name="archive"),
]
