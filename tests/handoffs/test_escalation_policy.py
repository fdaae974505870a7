"""Per-workflow escalation policies in the stall scan: levels in working time, the holder
skipped, the last level repeating with backoff, acknowledgements, one email per person."""

import datetime

import pytest
import time_machine

from handoffs.models import EscalationLevel, StallEpisode, StallNotice, TeamCalendar
from handoffs.stalls.detection import run_scan
from handoffs.stalls.policy import save_policy
from handoffs.work import services, transitions
from opshub.accounts.models import ApiToken, User
from opshub.mail.outbox import send_due

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
MONDAY = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
FRIDAY = datetime.datetime(2026, 3, 6, 13, 0, tzinfo=datetime.UTC)
Kind = EscalationLevel.Kind


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def head(make_user):
    return make_user("head@example.com", User.Role.LEAD, full_name="Head of Ops")


def _level(kind, delay, repeat=None, person=None):
    return {
        "kind": kind,
        "person": person,
        "delay": delay * H,
        "repeat_every": repeat * H if repeat else None,
    }


def _handed_off(workflow, seller, title="ACME order #1"):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )


def _scan():
    run_scan()
    send_due()


def _told(smtp_mailers):
    return [m["To"] for m in smtp_mailers.parsed()]


def test_a_lead_who_owns_a_stall_escalates_to_the_next_level_not_to_themself(
    clock, client, workflow, seller, lead, head, smtp_mailers
):
    save_policy(workflow, [_level(Kind.TEAM_LEAD, 2), _level(Kind.PERSON, 4, person=head)])
    _handed_off(workflow, seller)  # unassigned: the lead holds it
    clock.shift(4 * H + H / 60)  # the 4 h acceptance target has passed
    _scan()
    episode = StallEpisode.objects.get()
    assert episode.owner == lead
    # The lead level names the holder: skipped, and the next level takes its time.
    assert episode.escalate_to == head and episode.escalation_level == 0
    assert _told(smtp_mailers) == ["lead@example.com"]
    clock.shift(2 * H)
    _scan()
    episode.refresh_from_db()
    assert episode.escalation_level == 2 and episode.escalate_to == head
    assert _told(smtp_mailers) == ["lead@example.com", "head@example.com"]
    client.force_login(lead)
    page = client.get(episode.get_absolute_url()).content.decode()
    assert "Level 2: Head of Ops" in page
    _, raw = ApiToken.issue(user=lead, name="test")
    [row] = client.get("/api/v1/stalls/", HTTP_AUTHORIZATION=f"Token {raw}").json()["results"]
    assert row["escalation_level"] == 2 and row["escalation_person"] == head.pk


def test_the_stall_page_shows_the_next_level_never_the_holder(
    clock, client, workflow, seller, lead, head
):
    save_policy(workflow, [_level(Kind.TEAM_LEAD, 2), _level(Kind.PERSON, 4, person=head)])
    _handed_off(workflow, seller)
    clock.shift(5 * H)
    run_scan()
    episode = StallEpisode.objects.get()
    client.force_login(lead)
    page = client.get(episode.get_absolute_url()).content.decode()
    assert "<dt>Owner</dt><dd>Lead</dd>" in page
    assert "<dt>Escalates to</dt><dd>Head of Ops" in page


def test_three_levels_are_reached_in_working_time_over_a_weekend(
    clock, workflow, seller, lead, member, head, admin_user, teams, smtp_mailers
):
    TeamCalendar.objects.create(team=teams["fulfilment"], time_zone="UTC")  # Mon–Fri 9–17
    save_policy(
        workflow,
        [
            _level(Kind.TEAM_LEAD, 2),
            _level(Kind.PERSON, 4, person=head),
            _level(Kind.ADMINS, 8),
        ],
    )
    clock.move_to(FRIDAY)
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    # 4 working hours: stalled at Friday 17:00; the lead 2 working hours later is Monday
    # 11:00, the head Monday 13:00, the admins Monday 17:00, not during the weekend.
    moments = {
        "Fri 17:01": [],
        "Sat 12:00": [],
        "Sun 23:00": [],
        "Mon 10:59": [],
        "Mon 11:01": ["lead@example.com"],
        "Mon 12:59": [],
        "Mon 13:01": ["head@example.com"],
        "Mon 16:59": [],
        "Mon 17:01": ["admin@example.com"],
    }
    days = {"Fri": 6, "Sat": 7, "Sun": 8, "Mon": 9}
    seen = 0
    for moment, expected in moments.items():
        day, time = moment.split()
        hour, minute = map(int, time.split(":"))
        clock.move_to(datetime.datetime(2026, 3, days[day], hour, minute, tzinfo=datetime.UTC))
        _scan()
        mails = smtp_mailers.parsed()[seen:]
        seen += len(mails)
        escalations = [m["To"] for m in mails if m["To"] != "member@example.com"]
        assert escalations == expected, moment
    episode = StallEpisode.objects.get()
    assert episode.stalled_since == datetime.datetime(2026, 3, 6, 17, 0, tzinfo=datetime.UTC)
    assert episode.escalation_level == 3
    alert = smtp_mailers.parsed()[0]
    assert alert["To"] == "member@example.com"
    assert "of working time over" in alert.get_body(("plain",)).get_content()


def test_the_last_level_repeats_with_backoff(clock, workflow, seller, lead, member, smtp_mailers):
    save_policy(workflow, [_level(Kind.TEAM_LEAD, 1, repeat=2)])
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    for _ in range(40):
        clock.shift(H)
        _scan()
    sent = [
        round((at - MONDAY) / H)
        for at in StallNotice.objects.filter(kind="escalation", recipient=lead)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    ]
    # Stalled at 4 h, the lead at 5 h, then every 2, 4, 8 h (capped at 4× the interval).
    assert sent == [5, 7, 11, 19, 27, 35]
    assert "member@example.com" not in [m["To"] for m in smtp_mailers.parsed()[1:4]]


def test_an_acknowledgement_expires_and_the_level_due_meanwhile_is_told(
    clock, workflow, seller, lead, member, head, smtp_mailers
):
    save_policy(workflow, [_level(Kind.PERSON, 2, person=head)])
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    clock.shift(5 * H)
    _scan()
    assert StallEpisode.objects.get().acknowledge(by=member)
    for _ in range(23):
        clock.shift(H)
        _scan()
    assert "head@example.com" not in _told(smtp_mailers)
    clock.shift(H + H / 60)
    _scan()
    assert _told(smtp_mailers).count("head@example.com") == 1


def test_an_alert_and_an_escalation_due_in_one_scan_are_one_email(
    clock, workflow, seller, lead, member, smtp_mailers
):
    save_policy(workflow, [_level(Kind.PERSON, 1, person=member)])
    mine = _handed_off(workflow, seller, title="Assigned to the member")
    services.work_item_assign(item=mine, by=lead, assignee=member)
    _handed_off(workflow, seller, title="Held by the lead")
    # The scheduler was down: first scan 10 h in. The member is alerted about their own
    # stall and escalated to about the lead's, in one email.
    clock.shift(10 * H)
    _scan()
    to_member = [m for m in smtp_mailers.parsed() if m["To"] == "member@example.com"]
    assert len(to_member) == 1
    body = to_member[0].get_body(("plain",)).get_content()
    assert "ESCALATED TO YOU" in body and "NEWLY STALLED" in body
    assert "Assigned to the member" in body and "Held by the lead" in body
    clock.shift(H / 60)
    _scan()
    assert len([m for m in smtp_mailers.parsed() if m["To"] == "member@example.com"]) == 1


def test_a_workflow_without_a_policy_escalates_to_the_lead_once(
    clock, workflow, seller, lead, member, smtp_mailers
):
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    for _ in range(30):
        clock.shift(H)
        _scan()
    episode = StallEpisode.objects.get()
    assert episode.escalation_level == 1 and episode.escalate_to == lead
    assert StallNotice.objects.filter(kind="escalation").count() == 1
    assert episode.next_escalate_to is None


def test_changing_the_policy_applies_to_open_stalls_at_the_next_scan(
    clock, workflow, seller, lead, member, head, smtp_mailers
):
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    clock.shift(5 * H)
    _scan()
    assert StallEpisode.objects.get().escalate_to == lead
    save_policy(workflow, [_level(Kind.PERSON, 0.5, person=head)])
    _scan()
    assert "head@example.com" in _told(smtp_mailers)
