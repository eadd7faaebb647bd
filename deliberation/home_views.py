"""A council member's home in elder mode (长辈版): four large tiles, each with its count,
and a fifth for a member who also volunteers."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from deliberation import home_queries
from members import extensions


@login_required
@require_GET
def member_home(request: HttpRequest) -> HttpResponse:
    """我要反映 · 我的会议 · 我的任务 · 消息; anyone not on a council goes to their own home."""
    home = home_queries.member_home(request.user)
    if home.community_id is None:
        return redirect("home")
    return render(
        request,
        "meetings/member_home.html",
        {"home": home, "volunteering": extensions.volunteering(request.user)},
    )
