from django.urls import path

from deliberation import agenda_views, guest_views, home_views, joint_views, party_views, views

app_name = "meetings"

urlpatterns = [
    path("meetings/", views.meeting_list, name="list"),
    path("meetings/mine/", views.my_meetings, name="mine"),
    path("my/", home_views.member_home, name="member_home"),
    path(
        "communities/<int:community_id>/meetings/export.csv",
        views.meetings_export_csv,
        name="export_csv",
    ),
    path(
        "communities/<int:community_id>/meetings/export.xlsx",
        views.meetings_export_xlsx,
        name="export_xlsx",
    ),
    path("meetings/mine/<int:pk>/sign-in/", views.my_meeting_sign_in, name="mine_sign_in"),
    path("meetings/<int:pk>/", views.meeting_detail, name="detail"),
    path("meetings/<int:pk>/sign-in/", views.meeting_sign_in, name="sign_in"),
    path("meetings/<int:pk>/attendance/", views.meeting_attendance, name="attendance"),
    path("meetings/<int:pk>/guests/", guest_views.guest_invite, name="guest_invite"),
    path("meetings/<int:pk>/councils/", joint_views.joint_councils, name="joint_councils"),
    path(
        "street/<int:street_id>/joint-meetings/",
        joint_views.street_joint_meetings,
        name="street_joint_meetings",
    ),
    path("meetings/<int:pk>/guests/sign-in/", guest_views.guest_sign_in, name="guest_sign_in"),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/parties/",
        party_views.party_assign,
        name="party_assign",
    ),
    path(
        "meetings/<int:pk>/parties/<int:task_pk>/reply/",
        party_views.party_reply,
        name="party_reply",
    ),
    path(
        "meetings/<int:pk>/guests/<int:guest_pk>/vote/",
        guest_views.guest_vote,
        name="guest_vote",
    ),
    path("meetings/<int:pk>/sign-in-sheet/", views.meeting_sign_in_sheet, name="sign_in_sheet"),
    path("meetings/<int:pk>/close/", views.meeting_close, name="close"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel, name="cancel"),
    path("meetings/<int:pk>/move/", views.meeting_move, name="move"),
    path(
        "meetings/<int:pk>/agenda/issues/", agenda_views.agenda_add_issue, name="agenda_add_issue"
    ),
    path(
        "meetings/<int:pk>/agenda/issues/choices/",
        agenda_views.agenda_issue_choices,
        name="agenda_issue_choices",
    ),
    path(
        "meetings/<int:pk>/agenda/topics/", agenda_views.agenda_add_topic, name="agenda_add_topic"
    ),
    path("meetings/<int:pk>/items/<int:item_pk>/", views.meeting_item, name="item"),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/decide/",
        views.meeting_decide,
        name="decide",
    ),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/move/", agenda_views.agenda_move, name="agenda_move"
    ),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/remove/",
        agenda_views.agenda_remove,
        name="agenda_remove",
    ),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/restore/",
        agenda_views.agenda_restore,
        name="agenda_restore",
    ),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/defer/",
        agenda_views.agenda_defer,
        name="agenda_defer",
    ),
    path("issues/<int:issue_pk>/convene/", views.meeting_convene, name="convene"),
]
