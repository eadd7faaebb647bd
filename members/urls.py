from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("communities/", views.my_communities, name="my_communities"),
    path("street/<int:street_id>/", views.street, name="street"),
    path("me/", views.me, name="me"),
    path("display/elder-mode/", views.elder_mode, name="elder_mode"),
    path("notices/", views.notices, name="notices"),
    path("notices/read/", views.notices_read, name="notices_read"),
    # Short: text messages carry it.
    path("n/<int:pk>/", views.notice_open, name="notice_open"),
    path("communities/<int:community_id>/residents/", views.residents, name="residents"),
    path(
        "communities/<int:community_id>/residents/new/",
        views.resident_create,
        name="resident_create",
    ),
    path(
        "communities/<int:community_id>/residents/<int:pk>/edit/",
        views.resident_edit,
        name="resident_edit",
    ),
    path(
        "communities/<int:community_id>/residents/<int:pk>/deactivate/",
        views.resident_deactivate,
        name="resident_deactivate",
    ),
    path(
        "communities/<int:community_id>/residents/<int:pk>/reactivate/",
        views.resident_reactivate,
        name="resident_reactivate",
    ),
    path("communities/<int:community_id>/units/", views.units, name="units"),
    path(
        "communities/<int:community_id>/units/<int:pk>/phone/",
        views.unit_phone,
        name="unit_phone",
    ),
    path(
        "communities/<int:community_id>/residents/<int:pk>/phone/",
        views.resident_phone,
        name="resident_phone",
    ),
    path("communities/<int:community_id>/council/", views.council, name="council"),
    path(
        "communities/<int:community_id>/council/settings/",
        views.council_settings,
        name="council_settings",
    ),
    path(
        "communities/<int:community_id>/council/export.csv",
        views.council_export_csv,
        name="council_export_csv",
    ),
    path(
        "communities/<int:community_id>/council/export.xlsx",
        views.council_export_xlsx,
        name="council_export_xlsx",
    ),
    path(
        "communities/<int:community_id>/council/join/",
        views.council_member_join,
        name="council_member_join",
    ),
    path(
        "communities/<int:community_id>/council/<int:pk>/edit/",
        views.council_member_edit,
        name="council_member_edit",
    ),
    path(
        "communities/<int:community_id>/council/<int:pk>/leave/",
        views.council_member_leave,
        name="council_member_leave",
    ),
]
