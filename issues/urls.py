from django.urls import path

from issues import escalation_views, export_views, inbox_views, reply_views, task_views, views

app_name = "issues"

urlpatterns = [
    path("issues/", inbox_views.inbox, name="inbox"),
    path("issues/mine/", inbox_views.mine, name="mine"),
    path("issues/export.csv", inbox_views.export_csv, name="export_csv"),
    path("issues/export.xlsx", inbox_views.export_xlsx, name="export_xlsx"),
    path("issues/exports/", export_views.my_exports, name="my_exports"),
    path("issues/exports/<int:pk>/", export_views.export_job, name="export_job"),
    path("issues/exports/<int:pk>/download/", export_views.export_download, name="export_download"),
    path("communities/<int:community_id>/issues/new/", views.report, name="report"),
    path(
        "communities/<int:community_id>/issues/new/residents/",
        views.resident_picker,
        name="resident_picker",
    ),
    path("issues/<int:pk>/", views.detail, name="detail"),
    path("issues/<int:pk>/edit/", views.edit, name="edit"),
    path("issues/<int:pk>/transition/", views.transition, name="transition"),
    path("issues/<int:pk>/assign/", views.assign, name="assign"),
    path("issues/<int:pk>/rating/", views.rate, name="rate"),
    path("issues/<int:pk>/escalate/", views.escalate, name="escalate"),
    path("issues/<int:pk>/comment/", views.comment, name="comment"),
    path("issues/<int:pk>/photos/", views.add_photos, name="add_photos"),
    path("issues/<int:pk>/photos/<int:photo_pk>/", views.photo, name="photo"),
    path("tasks/", task_views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/", task_views.task, name="task"),
    path("tasks/<int:pk>/progress/", task_views.task_progress, name="task_progress"),
    path("tasks/<int:pk>/done/", task_views.task_done, name="task_done"),
    path("tasks/<int:pk>/confirm/", task_views.task_confirm, name="task_confirm"),
    path("tasks/<int:pk>/return/", task_views.task_return, name="task_return"),
    path("street/<int:street_id>/escalations/", escalation_views.street_queue, name="street_queue"),
    path("street/<int:street_id>/categories/", views.categories, name="categories"),
    path("street/<int:street_id>/replies/", reply_views.reply_list, name="replies"),
    path("replies/<int:pk>/", reply_views.reply_edit, name="reply_edit"),
    path("replies/<int:pk>/retire/", reply_views.reply_retire, name="reply_retire"),
    path("escalations/<int:pk>/", escalation_views.escalation_decide, name="escalation"),
    path("work/", escalation_views.work, name="work"),
    path("work/<int:pk>/", escalation_views.escalation_reply, name="reply"),
]
