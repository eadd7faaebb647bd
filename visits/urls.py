from django.urls import path

from visits import asked_views, return_views, review_views, team_edit_views, views

app_name = "visits"

urlpatterns = [
    path("street/<int:street_id>/teams/", views.street_teams, name="street"),
    path("street/<int:street_id>/teams/new/", views.team_new, name="team_new"),
    path("teams/<int:team_id>/", views.team, name="team"),
    path("teams/<int:team_id>/edit/", team_edit_views.team_edit, name="team_edit"),
    path("teams/<int:team_id>/members/", team_edit_views.member_add, name="member_add"),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/leave/",
        team_edit_views.member_leave,
        name="member_leave",
    ),
    path("teams/<int:team_id>/pairings/", team_edit_views.pairing_add, name="pairing_add"),
    path(
        "teams/<int:team_id>/pairings/<int:pairing_id>/end/",
        team_edit_views.pairing_end,
        name="pairing_end",
    ),
    path("teams/<int:team_id>/buildings/", team_edit_views.building_set, name="building_set"),
    path(
        "teams/<int:team_id>/buildings/<int:target_id>/visited/",
        views.building_visited,
        name="building_visited",
    ),
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
    path("asked/<int:asked_id>/", asked_views.asked, name="asked"),
    path("asked/<int:asked_id>/phone/", asked_views.asked_phone, name="asked_phone"),
    path("asked/<int:asked_id>/schedule/", asked_views.asked_schedule, name="asked_schedule"),
    path("asked/<int:asked_id>/visit/", asked_views.asked_visit, name="asked_visit"),
    path("returns/<int:concern_id>/", return_views.return_new, name="return_new"),
]
