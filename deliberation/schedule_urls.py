from django.urls import path

from deliberation import schedule_views

app_name = "schedules"

urlpatterns = [
    path("communities/<int:community_id>/schedules/", schedule_views.schedule_list, name="list"),
    path(
        "communities/<int:community_id>/schedules/new/",
        schedule_views.schedule_create,
        name="create",
    ),
    path(
        "communities/<int:community_id>/schedules/<int:pk>/edit/",
        schedule_views.schedule_edit,
        name="edit",
    ),
    path(
        "communities/<int:community_id>/schedules/<int:pk>/deactivate/",
        schedule_views.schedule_deactivate,
        name="deactivate",
    ),
]
