from django.urls import path

from volunteers import views

app_name = "volunteers"

urlpatterns = [
    path("volunteering/", views.mine, name="mine"),
    path("volunteering/statement.pdf", views.my_statement, name="my_statement"),
    path("volunteering/certificate.pdf", views.my_certificate, name="my_certificate"),
    path("communities/<int:community_id>/volunteers/", views.teams, name="teams"),
    path(
        "communities/<int:community_id>/volunteers/teams/new/",
        views.team_create,
        name="team_create",
    ),
    path(
        "communities/<int:community_id>/volunteers/ledger.xlsx",
        views.ledger_xlsx,
        name="ledger_xlsx",
    ),
    path(
        "communities/<int:community_id>/volunteers/rules/new/",
        views.rule_create,
        name="rule_create",
    ),
    path("volunteers/teams/<int:team_id>/", views.team, name="team"),
    path("volunteers/teams/<int:team_id>/members/", views.member_add, name="member_add"),
    path("volunteers/memberships/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("volunteers/memberships/<int:pk>/thanks/", views.member_thanks, name="member_thanks"),
    path(
        "volunteers/teams/<int:team_id>/activities/new/",
        views.activity_create,
        name="activity_create",
    ),
    path("volunteers/activities/<int:activity_id>/", views.activity, name="activity"),
    path("volunteers/activities/<int:activity_id>/close/", views.activity_close, name="close"),
    path("volunteers/activities/<int:activity_id>/photos/", views.activity_photos, name="photos"),
    path(
        "volunteers/activities/<int:activity_id>/photos/<int:photo_id>/",
        views.activity_photo,
        name="photo",
    ),
    path(
        "volunteers/matters/<int:issue_id>/activities/new/",
        views.matter_activity_create,
        name="matter_activity_create",
    ),
    path("volunteers/activities/<int:activity_id>/sign-up/", views.sign_up, name="sign_up"),
    path("volunteers/activities/<int:activity_id>/code/<str:code>/", views.code, name="code"),
    path("volunteers/attendances/<int:pk>/sign-in/", views.sign_in, name="sign_in"),
    path("volunteers/attendances/<int:pk>/sign-out/", views.sign_out, name="sign_out"),
    path("volunteers/attendances/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("volunteers/join-requests/<int:pk>/accept/", views.join_accept, name="join_accept"),
    path("volunteers/join-requests/<int:pk>/decline/", views.join_decline, name="join_decline"),
    path("volunteers/people/<int:volunteer_id>/", views.volunteer, name="volunteer"),
    path(
        "volunteers/people/<int:volunteer_id>/statement.pdf",
        views.statement_pdf,
        name="statement_pdf",
    ),
    path(
        "volunteers/people/<int:volunteer_id>/certificate.pdf",
        views.certificate_pdf,
        name="certificate_pdf",
    ),
    path("volunteers/people/<int:volunteer_id>/exchange/", views.exchange, name="exchange"),
    path(
        "volunteers/people/<int:volunteer_id>/correction/",
        views.correction,
        name="correction",
    ),
]
