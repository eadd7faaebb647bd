from django.urls import path

from reports import dashboard_views, views

app_name = "reports"

urlpatterns = [
    path(
        "communities/<int:community_id>/dashboard/",
        dashboard_views.community_dashboard,
        name="community_dashboard",
    ),
    path(
        "street/<int:street_id>/dashboard/",
        dashboard_views.street_dashboard,
        name="street_dashboard",
    ),
    path(
        "communities/<int:community_id>/reports/",
        views.community_report_request,
        name="community_report",
    ),
    path("street/<int:street_id>/reports/", views.street_report_request, name="street_report"),
    path("reports/<int:pk>/", views.report_status, name="report_status"),
    path("reports/<int:pk>/download/", views.report_download, name="report_download"),
]
