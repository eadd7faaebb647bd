from django.urls import path

from deliberation import views

app_name = "meetings"

urlpatterns = [
    path("meetings/", views.meeting_list, name="list"),
    path("meetings/<int:pk>/", views.meeting_detail, name="detail"),
    path("meetings/<int:pk>/sign-in/", views.meeting_sign_in, name="sign_in"),
    path(
        "meetings/<int:pk>/items/<int:item_pk>/decide/",
        views.meeting_decide,
        name="decide",
    ),
    path("issues/<int:issue_pk>/convene/", views.meeting_convene, name="convene"),
]
