"""A street's reply templates: the list, adding and correcting one, taking one out of use."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from issues import queries, replies
from issues.actions import replies as reply_actions
from issues.events import IssueActionError
from issues.forms import ReplyTemplateForm
from issues.models import ReplyTemplate


def _page(request, street, form, editing: ReplyTemplate | None, *, status: int = 200):
    context = {
        "street": street,
        "templates": list(queries.reply_templates_of(street)),
        "form": form,
        "editing": editing,
        "placeholder_help": replies.PLACEHOLDER_HELP,
    }
    return render(request, "issues/replies.html", context, status=status)


def _save(request: HttpRequest, street, editing: ReplyTemplate | None) -> HttpResponse:
    form = ReplyTemplateForm(request.POST)
    if form.is_valid():
        try:
            reply_actions.template_save(
                street=street, actor=request.user, template=editing, **form.cleaned_data
            )
        except IssueActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The reply template was saved."))
            return redirect("issues:replies", street_id=street.pk)
    return _page(request, street, form, editing, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def reply_list(request: HttpRequest, street_id: int) -> HttpResponse:
    street = queries.reply_street_for(request.user, street_id)
    if request.method == "POST":
        return _save(request, street, None)
    return _page(request, street, ReplyTemplateForm(), None)


@login_required
@require_http_methods(["GET", "POST"])
def reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = queries.reply_template_for(request.user, pk)
    if request.method == "POST":
        return _save(request, template.street, template)
    form = ReplyTemplateForm(initial={"title": template.title, "body": template.body})
    return _page(request, template.street, form, template)


@login_required
@require_POST
def reply_retire(request: HttpRequest, pk: int) -> HttpResponse:
    template = queries.reply_template_for(request.user, pk)
    reply_actions.template_retire(template=template, actor=request.user)
    messages.success(request, _("The reply template is no longer offered."))
    return redirect("issues:replies", street_id=template.street_id)
