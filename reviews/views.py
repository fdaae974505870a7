from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from opshub.lib.guards import require
from opshub.lib.ids import parse_id
from reviews import reminders, services
from reviews.audit import system_audit
from reviews.forms import ActionItemForm, BreakageForm, ProjectorLinkForm, ReviewForm
from reviews.models import ActionItem, AgendaEntry, Breakage, ProjectorLink, Review, week_of

NAV = {"nav_active": "reviews"}


def _get_review(pk):
    return get_object_or_404(Review.objects.select_related("facilitator"), pk=pk)


@login_required
@require_safe
def review_list(request):
    week = week_of()
    return render(
        request,
        "reviews/review_list.html",
        {
            **NAV,
            "current": Review.objects.filter(week=week).first(),
            "week": week,
            "reviews": Review.objects.select_related("facilitator").with_counts()[:26],
            "breakages": Breakage.objects.for_list()[:15],
            "my_actions": ActionItem.objects.open().for_list().filter(owner=request.user),
            "can_facilitate": services.can_facilitate(request.user),
            "can_log": services.can_log_breakage(request.user),
        },
    )


@login_required
@require_POST
def review_open_current(request):
    review = services.review_for_week(week_of(), by=request.user)
    return redirect(review)


@login_required
@require_safe
def review_detail(request, pk):
    review = _get_review(pk)
    return render(request, "reviews/review_detail.html", _detail_context(request, review))


def _detail_context(request, review, **extra):
    can_facilitate = services.can_facilitate(request.user, review)
    return {
        **NAV,
        "review": review,
        "agenda": services.build_agenda(review),
        "can_facilitate": can_facilitate and review.is_open,
        "can_log": services.can_log_breakage(request.user),
        "review_form": ReviewForm(instance=review) if can_facilitate else None,
        "links": review.projector_links.active() if can_facilitate else [],
        "link_form": ProjectorLinkForm(),
        "action_form": ActionItemForm(review=review),
        "today": timezone.localdate(),
        "verdicts": AgendaEntry.State.choices,
        **extra,
    }


@login_required
@require_POST
def review_update(request, pk):
    review = _get_review(pk)
    require(services.can_facilitate(request.user, review))
    form = ReviewForm(request.POST, instance=review)
    if not form.is_valid():
        context = _detail_context(request, review, review_form=form)
        return render(request, "reviews/review_detail.html", context, status=400)
    services.review_update(review=review, by=request.user, **form.cleaned_data)
    messages.success(request, "Facilitator and attendees saved.")
    return redirect(review)


def _back_to_review(request, review):
    """A refusal no form field owns: its message shows on the review page, which htmx loads
    whole rather than swapping the page into the one agenda entry that asked."""
    url = review.get_absolute_url()
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def agenda_entry_mark(request, pk):
    review = _get_review(pk)
    key = request.POST.get("key", "")
    try:
        services.agenda_entry_mark(
            review=review, by=request.user, key=key, state=request.POST.get("state")
        )
    except ValidationError as exc:
        if _from_projector(request):
            return _projector_answer(request, review, " ".join(exc.messages))
        messages.error(request, " ".join(exc.messages))
        return _back_to_review(request, review)
    if _from_projector(request):
        label = AgendaEntry.State(request.POST["state"]).label
        return _projector_answer(request, review, f"Marked {label.lower()}.")
    if not request.htmx:
        return redirect(f"{review.get_absolute_url()}#entry-{key.replace(':', '-')}")
    entry = next(e for e in services.build_agenda(review) if e.key == key)
    return render(
        request, "reviews/review_detail.html#entry", _detail_context(request, review, entry=entry)
    )


@login_required
@require_POST
def action_item_create(request, pk):
    review = _get_review(pk)
    require(services.can_facilitate(request.user, review))
    if not review.is_open:
        messages.error(request, "This review is closed; it takes no more action items.")
        return _back_to_review(request, review)
    form = ActionItemForm(request.POST, review=review)
    if form.is_valid():
        try:
            services.action_item_create(review=review, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
    if _from_projector(request):
        return _projector_action_answer(request, review, form)
    if form.is_valid() and not request.htmx:
        messages.success(request, "Action item recorded.")
        return redirect(review)
    breakage = form.cleaned_data.get("breakage") if hasattr(form, "cleaned_data") else None
    key = f"breakage:{breakage.pk}" if breakage else "actions"
    entry = next(e for e in services.build_agenda(review) if e.key == key)
    context = _detail_context(request, review, entry=entry)
    if not form.is_valid():
        context["action_form"], context["failed_key"] = form, key
    template = "reviews/review_detail.html#entry" if request.htmx else "reviews/review_detail.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


@login_required
@require_POST
def action_item_set_status(request, pk):
    action = get_object_or_404(ActionItem.objects.select_related("review"), pk=pk)
    try:
        services.action_item_set_status(
            action=action,
            by=request.user,
            status=request.POST["status"],
            outcome=request.POST.get("outcome"),
        )
    except (ValidationError, KeyError):
        messages.error(request, "Pick open, done or dropped.")
    else:
        messages.success(request, f"“{action.title}” is {action.get_status_display().lower()}.")
    return redirect(_safe_next(request) or "reviews:review-list")


@login_required
@require_safe
def action_items_overdue(request):
    """The leads' list: every open action item past its due date, oldest first."""
    actions = list(reminders.overdue_for_leads())
    facilitates = services.can_facilitate(request.user)
    return render(
        request,
        "reviews/actionitem_overdue.html",
        {
            **NAV,
            "actions": actions,
            "today": timezone.localdate(),
            # services.can_update_action, without a query per row.
            "closable": {
                a.pk
                for a in actions
                if facilitates or (request.user.can_write and a.owner_id == request.user.pk)
            },
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def review_close(request, pk):
    """Closing cannot be undone: the page (or, with htmx, the panel) says what it freezes and
    who gets the summary; only a POST that confirms the same agenda closes."""
    review = _get_review(pk)
    require(services.can_facilitate(request.user, review))
    if not review.is_open:
        messages.error(request, "This review is already closed.")
        return redirect(review)
    undiscussed = services.undiscussed_entries(review)
    if request.method == "POST" and _close_confirmed(request, undiscussed):
        try:
            services.review_close(review=review, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Review closed; the summary is on its way to the attendees.")
        return redirect(review)
    context = {
        **NAV,
        "review": review,
        "undiscussed": undiscussed,
        "recipients": services.summary_recipients(review),
        "action_count": review.action_items.count(),
        "agenda_changed": request.method == "POST" and "confirm" in request.POST,
    }
    template = "reviews/review_close.html#confirm" if request.htmx else "reviews/review_close.html"
    return render(request, template, context)


def _close_confirmed(request, undiscussed):
    """Confirmed, for the agenda as it was shown: a verdict given meanwhile asks again."""
    return request.POST.get("confirm") == "close" and request.POST.get("undiscussed") == str(
        len(undiscussed)
    )


@login_required
@require_POST
def projector_link_create(request, pk):
    review = _get_review(pk)
    require(services.can_facilitate(request.user, review))
    form = ProjectorLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["days"]))
        return redirect(f"{review.get_absolute_url()}#projector-links")
    link = services.projector_link_create(
        review=review, by=request.user, days=form.cleaned_data["days"]
    )
    expiry = dateformat.format(timezone.localtime(link.expires_at), "j M Y H:i")
    messages.success(
        request, f"Read-only projector link created; it works until {expiry}. Revoke it sooner."
    )
    return redirect(f"{review.get_absolute_url()}?link={link.pk}#projector-links")


@login_required
@require_POST
def projector_link_revoke(request, pk):
    link = get_object_or_404(ProjectorLink.objects.select_related("review"), pk=pk)
    services.projector_link_revoke(link=link, by=request.user)
    messages.success(request, "Projector link revoked: it no longer opens the review.")
    return redirect(link.review)


# --- Projector -----------------------------------------------------------------------------


def _projector(request, review, poll_url, exit_url, *, facilitate=False, status=200):
    context = {"review": review, "agenda": services.build_agenda(review)}
    context.update(poll_url=poll_url, exit_url=exit_url, states=AgendaEntry.State)
    if facilitate:
        context.update(facilitate=True, verdicts=AgendaEntry.State.choices)
        context.setdefault("action_form", ActionItemForm(review=review))
    if request.htmx:
        return render(request, "reviews/review_projector.html#slides", context, status=status)
    return render(request, "reviews/review_projector.html", context, status=status)


def _can_facilitate_now(user, review):
    return review.is_open and services.can_facilitate(user, review)


@login_required
@require_safe
def review_projector(request, pk):
    review = _get_review(pk)
    facilitate = _can_facilitate_now(request.user, review)
    return _projector(
        request, review, request.path, review.get_absolute_url(), facilitate=facilitate
    )


def _from_projector(request):
    return request.POST.get("from") == "projector"


def _projector_url(review):
    return reverse("reviews:review-projector", args=[review.pk])


def _projector_answer(request, review, message):
    """A verdict given on the projector: the slides again (htmx swaps #deck), and a toast."""
    if not request.htmx:
        messages.info(request, message)
        return redirect(_projector_url(review))
    facilitate = _can_facilitate_now(request.user, review)
    response = _projector(
        request, review, _projector_url(review), review.get_absolute_url(), facilitate=facilitate
    )
    return trigger_client_event(response, "projectorToast", {"message": message})


FORM_PARTIAL = "reviews/review_projector.html#action-form"


def _projector_action_answer(request, review, form):
    """The projector's "record the change" dialog: its form again with per-field messages
    (400), or, once recorded, the slides in #deck and the dialog closed."""
    if not request.htmx:
        if not form.is_valid():
            messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return redirect(_projector_url(review))
    if not form.is_valid():
        context = {"review": review, "action_form": form}
        return render(request, FORM_PARTIAL, context, status=400)
    title = form.cleaned_data["title"].strip()
    response = _projector_answer(request, review, f"Action item recorded: {title}")
    # An empty form for the next change, swapped into the dialog out of band.
    fresh = {"review": review, "action_form": ActionItemForm(review=review), "oob": True}
    response.write(render_to_string(FORM_PARTIAL, fresh, request=request))
    response = retarget(reswap(response, "innerHTML"), "#deck")
    return trigger_client_event(response, "projectorActionRecorded")


@require_safe
def projector_public(request, token):
    """The signed, revocable link: no login, GET only, nothing on it can change data."""
    link = ProjectorLink.from_token(token)
    if link is None:
        raise Http404("This projector link is invalid or has been revoked.")
    if link.is_expired:
        context = {"link": link}
        return render(request, "reviews/projector_link_expired.html", context, status=410)
    return _projector(request, link.review, request.path, "")


# --- Breakages ------------------------------------------------------------------------------


@login_required
def breakage_log(request):
    require(services.can_log_breakage(request.user))
    candidate = services.candidate_for_key(request.GET.get("from", ""))
    form = BreakageForm(request.POST or None, initial=_initial_from(request, candidate))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["items"] = data.pop("item_ids")
        source = {"source": candidate.source, "source_key": candidate.key} if candidate else {}
        try:
            breakage = services.breakage_log(by=request.user, **data, **source)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Breakage logged: it is on this week's review agenda.")
            return redirect(_safe_next(request) or breakage)
    status = 400 if form.errors else 200
    context = {**NAV, "form": form, "candidate": candidate, "next": _safe_next(request)}
    return render(request, "reviews/breakage_form.html", context, status=status)


def _initial_from(request, candidate):
    if candidate:
        return {
            "title": candidate.title,
            "workflow": candidate.workflow,
            "stage": candidate.stage,
            "handoff": candidate.handoff,
            "item_ids": ", ".join(str(i.pk) for i in candidate.items),
        }
    item_id = parse_id(request.GET.get("item"))
    if item_id:
        from handoffs.models import WorkItem

        item = WorkItem.objects.filter(pk=item_id).first()
        if item:
            return {"workflow": item.workflow_id, "stage": item.stage_id, "item_ids": str(item.pk)}
    return {}


def _safe_next(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    # redirect() reads a bare word ("0") as a URL name to reverse: only paths and URLs pass.
    return target if allowed and target.startswith(("/", "http://", "https://")) else ""


@login_required
@require_safe
def breakage_detail(request, pk):
    breakage = get_object_or_404(Breakage.objects.for_list(), pk=pk)
    history = Breakage.objects.same_place(breakage).exclude(pk=breakage.pk).for_list()[:20]
    return render(
        request,
        "reviews/breakage_detail.html",
        {
            **NAV,
            "breakage": breakage,
            "history": history,
            "actions": breakage.action_items.for_list(),
            "review": Review.objects.filter(week=breakage.week).first(),
        },
    )


@login_required
@require_safe
def patterns(request):
    weeks, rows = services.breakage_heatmap()
    repeats = services.repeats_until(timezone.now())
    return render(
        request,
        "reviews/patterns.html",
        {**NAV, "weeks": weeks, "rows": rows, "repeats": repeats},
    )


@login_required
@require_safe
def audit(request):
    found = system_audit()
    sections = [
        (
            "Checklist items that have not caught a problem",
            found["checklist"],
            "Every checklist item was named by a bounce or recovery in 90 days.",
        ),
        (
            "Red decisions nearly always approved, with long waits (candidates for yellow)",
            found["decisions"],
            "No red decision type is a rubber stamp.",
        ),
        (
            "Fields nobody reads",
            found["fields"],
            "Every field was named in a bounce, recovery or comment.",
        ),
        ("Stages that never bounce", found["stages"], "Every busy handoff bounced at least once."),
    ]
    return render(request, "reviews/audit.html", {**NAV, "sections": sections})
