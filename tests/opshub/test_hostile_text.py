"""Hostile text typed into every user-editable field comes back escaped on every page, htmx
partial and HTML email that shows it: markup and htmx attributes in user text stay text.

The string carries an htmx attribute that would send a logged-in POST as soon as it is
parsed (`hx-trigger="load"`), both quotes, an ampersand and a template expression; the
base layout's htmx config (no eval, same-origin requests only) is checked here too.
"""

import datetime
import json
import re
from pathlib import Path

import pytest
import time_machine
from django import forms
from django.template.loader import render_to_string
from django.utils import timezone

from handoffs.decisions import rules as rights
from handoffs.decisions import services as decision_services
from handoffs.models import (
    DecisionType,
    EmailDelivery,
    Handoff,
    NotificationChannel,
    Stage,
    StallEpisode,
    Team,
    TeamCalendar,
    TeamClosure,
)
from handoffs.stalls.detection import run_scan
from handoffs.work import services, transitions
from handoffs.work.forms import _gate_field
from handoffs.workflows import services as wf
from opshub.mail.outbox import send_due
from reviews import services as review_services
from reviews.models import Review, week_of

pytestmark = pytest.mark.django_db

HOSTILE = """<i hx-post="x" hx-trigger="load">"'&</i>{{7*7}}"""
RAW = "<i hx-post"
# What autoescaping (and html.escape in the template tags) makes of its opening.
ESCAPED = "&lt;i hx-post=&quot;x&quot; hx-trigger=&quot;load&quot;&gt;&quot;&#x27;&amp;&lt;/i&gt;"


def _assert_escaped(body, where, *, shown=True):
    assert RAW not in body, f"{where} renders user text as markup"
    if shown:
        assert ESCAPED + "{{7*7}}" in body, f"{where} does not show the text escaped"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hostile(workflow, teams, seller, lead, admin_user):
    """Every user-editable text of a workflow, its protocol, items, decisions and review."""
    for team in teams.values():
        team.name = f"{team.name} {HOSTILE}"
        team.save()
    wf.workflow_update(
        workflow=workflow, by=admin_user, name=f"Flow {HOSTILE}", description=f"About {HOSTILE}"
    )
    for stage in workflow.stages.all():
        wf.stage_update(stage=stage, by=admin_user, name=f"{stage.name} {HOSTILE}")
    handoff = Handoff.objects.get(workflow=workflow)
    draft = wf.protocol_draft(handoff=handoff, by=lead)
    wf.checklist_save(version=draft, by=lead, text=f"Check {HOSTILE}", help=f"Help {HOSTILE}")
    wf.field_save(
        version=draft,
        by=lead,
        definition={
            "key": "tone",
            "label": f"Label {HOSTILE}",
            "type": "choice",
            "help": f"Field help {HOSTILE}",
            "choices": [f"Choice {HOSTILE}", "plain"],
            "required": False,
        },
    )
    wf.protocol_save(
        version=draft,
        by=lead,
        ready_answer=f"Ready {HOSTILE}",
        missing_answer=f"Missing {HOSTILE}",
    )
    wf.protocol_publish(version=draft, by=lead)
    wf.protocol_draft(handoff=handoff, by=lead)  # the editor shows the copied texts
    checklist = [entry["id"] for entry in handoff.published().checklist if entry["required"]]

    bounced = services.work_item_create(
        workflow=workflow, title=f"Order {HOSTILE}", external_ref=f"REF {HOSTILE}", by=seller
    )
    services.work_item_comment(item=bounced, by=seller, body=f"Comment {HOSTILE}")
    bounced = transitions.handoff_submit(
        item=bounced,
        by=seller,
        checklist=checklist,
        fields={
            "po_number": f"PO {HOSTILE}",
            "amount": "10",
            "notes": f"Long {HOSTILE}",
            "tone": f"Choice {HOSTILE}",
        },
        note=f"Handoff note {HOSTILE}",
    )
    bounced, recovery = transitions.handoff_bounce(
        item=bounced, by=lead, missing_input=f"Input {HOSTILE}", note=f"Bounce note {HOSTILE}"
    )
    waiting = services.work_item_create(
        workflow=workflow, title=f"Waiting {HOSTILE}", external_ref=f"W {HOSTILE}", by=seller
    )
    waiting = transitions.handoff_submit(
        item=waiting,
        by=seller,
        checklist=checklist,
        fields={"po_number": f"PO {HOSTILE}", "amount": "10"},
    )
    editable = services.work_item_create(workflow=workflow, title=f"Open {HOSTILE}", by=seller)

    decision_type = rights.decision_type_save(
        decision_type=DecisionType(
            workflow=workflow, name=f"Type {HOSTILE}", good_looks_like=f"Good {HOSTILE}"
        ),
        by=admin_user,
    )
    rights.matrix_set_right(
        decision_type=decision_type,
        role="member",
        team=None,
        by=admin_user,
        level="yellow",
        inform_users=[lead],
    )
    decision = decision_services.decision_record(
        item=editable,
        by=seller,
        decision_type=decision_type,
        summary=f"Decided {HOSTILE}",
        why=f"Because {HOSTILE}",
    )

    breakage = review_services.breakage_log(
        by=lead,
        title=f"Broke {HOSTILE}",
        workflow=workflow,
        kind="process",
        description=f"What {HOSTILE}",
        system_factor=f"System {HOSTILE}",
        items=[bounced],
        handoff=handoff,
    )
    fulfilment = teams["fulfilment"]
    calendar = TeamCalendar.objects.create(team=fulfilment)
    TeamClosure.objects.create(
        calendar=calendar, date=timezone.localdate() + datetime.timedelta(days=7), reason=HOSTILE
    )
    NotificationChannel.objects.create(
        team=fulfilment,
        name=f"#ops {HOSTILE}",
        url="json://93.184.215.14/x",
        events=["stall_alert"],
    )
    review = Review.objects.create(week=week_of(), facilitator=lead)
    review_services.review_update(
        review=review, by=lead, facilitator=lead, attendees=[lead], notes=f"Notes {HOSTILE}"
    )
    action = review_services.action_item_create(
        review=review,
        by=lead,
        title=f"Action {HOSTILE}",
        owner=lead,
        due_date=review.week + datetime.timedelta(days=7),
        breakage=breakage,
        decision_type=f"Decision {HOSTILE}",
    )
    return {
        "workflow": workflow,
        "handoff": handoff,
        "bounced": bounced,
        "recovery": recovery,
        "waiting": waiting,
        "editable": editable,
        "decision": decision,
        "decision_type": decision_type,
        "breakage": breakage,
        "review": review,
        "action": action,
    }


def _pages(world):
    workflow, handoff, stage = world["workflow"], world["handoff"], Stage.objects.first()
    review, bounced, editable = world["review"], world["bounced"], world["editable"]
    return [
        "/",
        "/work/",
        "/work/?q=Order&state=all",
        f"/work/board/{workflow.pk}/",
        bounced.get_absolute_url(),
        world["waiting"].get_absolute_url(),
        f"/work/{editable.pk}/?panel=edit",
        f"/work/{editable.pk}/?panel=handoff",
        f"/work/{editable.pk}/decisions/",
        "/work/new/",
        "/workflows/",
        f"/workflows/{workflow.pk}/",
        f"/workflows/{workflow.pk}/edit/",
        f"/stages/{stage.pk}/",
        f"/protocols/{handoff.pk}/",
        f"/protocols/{handoff.pk}/print/",
        f"/protocols/{handoff.pk}/diff/?a=1&b=2",
        f"/protocols/{handoff.pk}/draft/",
        "/map/",
        f"/workflows/{workflow.pk}/decisions/",
        f"/workflows/{workflow.pk}/decisions/print/",
        f"/workflows/{workflow.pk}/decisions/log/",
        "/reviews/",
        f"/reviews/{review.pk}/",
        f"/reviews/{review.pk}/projector/",
        f"/reviews/breakages/{world['breakage'].pk}/",
        "/reviews/breakages/new/",
        "/reviews/patterns/",
        "/reviews/audit/",
        *(f"/teams/{team}/{page}/" for team in _fulfilment() for page in ("calendar", "channels")),
    ]


def _fulfilment():
    return Team.objects.filter(name__startswith="Fulfilment").values_list("pk", flat=True)


# The receiving lead's own pages: what waits for Fulfilment, what they were told.
LEAD_PAGES = ["/work/inbox/", "/notifications/"]
# Pages whose purpose is not to show the texts above (forms to create something new).
SHOWS_NONE = {"/work/new/", "/reviews/breakages/new/"}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "partial"])
def test_hostile_text_is_escaped_on_every_page_and_partial(client, hostile, admin_user, lead, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    unescaped, missing = [], []
    link = review_services.projector_link_create(review=hostile["review"], by=lead)
    visits = [(admin_user, path) for path in _pages(hostile)] + [(lead, p) for p in LEAD_PAGES]
    visits.append((None, link.get_absolute_url()))  # the projector's public link: no login
    for user, path in visits:
        if user is None:
            client.logout()
        else:
            client.force_login(user)
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        body = response.content.decode()
        if RAW in body:
            unescaped.append(path)
        elif path not in SHOWS_NONE and ESCAPED + "{{7*7}}" not in body:
            missing.append(path)
    assert not unescaped, f"user text rendered as markup on {unescaped}"
    assert not missing, f"the hostile text is not shown escaped on {missing}"


def test_the_sender_sees_the_protocol_help_escaped_where_they_fill_it_in(client, hostile, seller):
    client.force_login(seller)
    editable = hostile["editable"]
    for panel in ("edit", "handoff"):
        for headers in ({}, {"HX-Request": "true"}):
            path = f"/work/{editable.pk}/?panel={panel}"
            body = client.get(path, headers=headers).content.decode()
            _assert_escaped(body, path)
            # htmx does not process a help text's contents, should markup ever get there.
            assert re.search(r'class="help-text"[^>]* hx-disable>(Field help|Help) &lt;i', body)


def test_a_protocol_field_help_stays_text_in_any_form_renderer():
    """Django's own field templates render help texts with |safe; the gate field escapes the
    lead's help itself, so even those cannot turn it into markup."""
    field = _gate_field(
        {"key": "k", "label": HOSTILE, "help": HOSTILE, "type": "choice", "choices": [HOSTILE]}
    )
    form = type("GateForm", (forms.Form,), {"k": field})()
    for html in (str(form), form.as_p(), form["k"].as_field_group()):
        _assert_escaped(html, "a gate field")
    body = render_to_string("includes/form_field.html", {"field": form["k"]})
    _assert_escaped(body, "includes/form_field.html")


def test_html_emails_escape_hostile_text_and_text_emails_stay_plain(hostile, lead, admin_user):
    review_services.review_close(review=hostile["review"], by=lead)
    deliveries = list(EmailDelivery.objects.all())
    assert deliveries, "the bounce, the yellow decision and the review each send an email"
    with_html = [d for d in deliveries if d.body_html]
    assert with_html
    for delivery in with_html:
        _assert_escaped(delivery.body_html, f"{delivery.kind} email (HTML)")
    for delivery in deliveries:
        # A plain-text part is not parsed as HTML: it keeps the text as typed.
        assert ESCAPED not in delivery.body_text, f"{delivery.kind} email (text) is escaped"
    texts = "\n".join(d.body_text for d in deliveries)
    assert f"Action {HOSTILE}" in texts and f"Decided {HOSTILE}" in texts


def test_stalls_and_their_alert_emails_escape_hostile_text(
    client, hostile, admin_user, smtp_mailers
):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(30):
            clock.shift(datetime.timedelta(hours=1))
            run_scan()
        send_due()
        client.force_login(admin_user)
        episode = StallEpisode.objects.first()
        for path in ("/stalls/", f"/stalls/{episode.pk}/"):
            for headers in ({}, {"HX-Request": "true"}):
                _assert_escaped(client.get(path, headers=headers).content.decode(), path)
    alerts = EmailDelivery.objects.filter(kind=EmailDelivery.Kind.STALL)
    assert alerts.exists()
    for delivery in alerts:
        _assert_escaped(delivery.body_html, "stall alert (HTML)")
    for message in smtp_mailers.parsed():
        html = message.get_body(("html",))
        if html is not None:
            assert RAW not in html.get_content()


def test_the_layout_configures_htmx_without_eval_and_for_this_site_only(client, admin_user):
    client.force_login(admin_user)
    body = client.get("/work/").content.decode()
    assert "{#" not in body
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", body)
    assert meta, "base.html must carry htmx's config"
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False
    assert config["selfRequestsOnly"] is True
    assert config["includeIndicatorStyles"] is False


TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Plain-text email bodies: no HTML reader parses them, so they keep the text as typed.
# (Django sends the password reset template as the text body; it has no HTML part here.)
PLAIN_TEXT = {"registration/password_reset_email.html"}


def test_no_template_marks_text_safe_and_only_plain_text_emails_turn_escaping_off():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*")):
        if not path.is_file():
            continue
        name = str(path.relative_to(TEMPLATES))
        text = path.read_text()
        if re.search(r"\|\s*safe(seq)?\b", text):
            offenders.append(f"{name}: |safe")
        plain = path.suffix == ".txt" or name in PLAIN_TEXT
        if "autoescape off" in text and not plain:
            offenders.append(f"{name}: autoescape off outside a plain-text email")
    assert not offenders, offenders
