from django.urls import path

from visits import review_views, views

app_name = "visits"

urlpatterns = [
    path("street/<int:street_id>/teams/", views.street_teams, name="street"),
    path("street/<int:street_id>/teams/new/", views.team_new, name="team_new"),
    path("teams/<int:team_id>/", views.team, name="team"),
    path("teams/<int:team_id>/visit/", views.visit_pick, name="visit_pick"),
    path("teams/<int:team_id>/visit/new/", views.visit_new, name="visit_new"),
    path(
        "teams/<int:team_id>/households/<int:resident_id>/phone/",
        views.household_phone,
        name="household_phone",
    ),
    path("visits/<int:visit_id>/", views.visit, name="visit"),
    path("street/<int:street_id>/teams/review/", review_views.review, name="review"),
    path("street/<int:street_id>/teams/review.pdf", review_views.review_pdf, name="review_pdf"),
    path(
        "street/<int:street_id>/teams/review/thresholds/",
        review_views.review_thresholds,
        name="review_thresholds",
    ),
    path("street/<int:street_id>/teams/year/", review_views.review_year, name="review_year"),
    path(
        "street/<int:street_id>/teams/year.csv",
        review_views.review_year_csv,
        name="review_year_csv",
    ),
    path(
        "street/<int:street_id>/teams/year.xlsx",
        review_views.review_year_xlsx,
        name="review_year_xlsx",
    ),
]
