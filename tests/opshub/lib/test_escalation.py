"""Escalation policies: skip the holder, tell everything due at once, back off, repeat the
last level, and go quiet while acknowledged."""

from opshub.lib.escalation import (
    ALERT,
    ESCALATION,
    REMINDER,
    Level,
    Notice,
    Policy,
    State,
    acknowledged,
    by_person,
    step,
)

H = 3600
OWNER, LEAD, HEAD, ADMIN = 1, 2, 3, 4


def _policy(owner=OWNER, lead=LEAD, repeat=4 * H, cap=16 * H):
    return Policy(
        levels=(
            Level(after=8 * H, people=(owner,), repeat_every=repeat, label="owner"),
            Level(after=16 * H, people=(lead,), repeat_every=repeat, label="team lead"),
            Level(after=40 * H, people=(HEAD, ADMIN), repeat_every=repeat, label="admins"),
        ),
        backoff_cap=cap,
    )


def test_nothing_is_due_before_the_first_level():
    result = step(_policy(), State(), elapsed=7 * H)
    assert result.notices == ()
    assert result.next_check == 8 * H


def test_the_owner_is_alerted_then_the_lead_gets_the_escalation():
    first = step(_policy(), State(), elapsed=8 * H)
    assert first.notices == (Notice(OWNER, 0, ALERT),)
    second = step(_policy(), first.state, elapsed=16 * H)
    assert second.notices == (Notice(LEAD, 1, ESCALATION),)


def test_a_lead_who_owns_the_stall_escalates_to_the_next_level_not_to_themself():
    policy = _policy(owner=LEAD, lead=LEAD)
    first = step(policy, State(), elapsed=8 * H)
    assert first.notices == (Notice(LEAD, 0, ALERT),)
    # The lead level is skipped, and the next level takes its time.
    assert first.next_check == 12 * H  # the owner's first reminder comes before
    second = step(policy, first.state, elapsed=16 * H)
    assert {n.person for n in second.notices} == {HEAD, ADMIN}
    assert {n.kind for n in second.notices} == {ESCALATION}
    assert LEAD not in {n.person for n in second.notices}


def test_a_stall_first_seen_past_its_escalation_is_told_to_everyone_in_one_step():
    result = step(_policy(), State(), elapsed=20 * H)
    assert result.notices == (Notice(OWNER, 0, ALERT), Notice(LEAD, 1, ESCALATION))
    assert result.state.level == 1


def test_everything_for_one_person_in_one_scan_is_one_message():
    same_person = _policy(owner=LEAD, lead=HEAD)
    notices = {
        "stall A": step(_policy(), State(), elapsed=20 * H).notices,
        "stall B": step(same_person, State(), elapsed=9 * H).notices,
    }
    messages = by_person(notices)
    assert sorted(messages) == [OWNER, LEAD]
    assert [(stall, n.kind) for stall, n in messages[LEAD]] == [
        ("stall A", ESCALATION),
        ("stall B", ALERT),
    ]


def test_reminders_back_off_up_to_the_cap_and_the_last_level_repeats():
    policy = _policy(repeat=4 * H, cap=16 * H)
    state = step(policy, State(), elapsed=40 * H).state  # all three levels at once
    assert state.level == 2
    sent_at, elapsed = [], 40 * H
    while elapsed <= 120 * H:
        result = step(policy, state, elapsed=elapsed)
        if result.notices:
            assert {n.kind for n in result.notices} == {REMINDER}
            assert {n.person for n in result.notices} == {HEAD, ADMIN}
            sent_at.append(elapsed // H)
        state = result.state
        elapsed += H
    # 4 h, then 8 h, then 16 h (the cap), and 16 h for as long as it stays open.
    assert sent_at == [44, 52, 68, 84, 100, 116]


def test_nothing_is_sent_while_acknowledged_and_reminders_resume_after():
    policy = _policy()
    state = step(policy, State(), elapsed=8 * H).state
    state = step(policy, state, elapsed=12 * H).state  # first reminder; next gap is 8 h
    assert state.reminders == 1
    state = acknowledged(state)
    silent = step(policy, state, elapsed=30 * H, acknowledged=True)
    assert silent.notices == ()
    # The acknowledgement expired: the lead level, due meanwhile, is told now.
    resumed = step(policy, silent.state, elapsed=31 * H)
    assert resumed.notices == (Notice(LEAD, 1, ESCALATION),)
    after = step(policy, resumed.state, elapsed=35 * H)
    assert after.notices == (Notice(LEAD, 1, REMINDER),)


def test_an_acknowledgement_restarts_the_backoff():
    policy = _policy(repeat=2 * H, cap=100 * H)
    state = State(level=0, last_notice=8 * H, reminders=3)  # the next gap would be 16 h
    state = acknowledged(state)
    assert step(policy, state, elapsed=10 * H).notices == (Notice(OWNER, 0, REMINDER),)


def test_a_person_named_on_two_levels_is_told_once():
    policy = Policy(
        levels=(
            Level(after=H, people=(OWNER,)),
            Level(after=2 * H, people=(OWNER, LEAD)),
        )
    )
    result = step(policy, State(), elapsed=3 * H)
    assert result.notices == (Notice(OWNER, 0, ALERT), Notice(LEAD, 1, ESCALATION))


def test_a_policy_with_nobody_to_tell_sends_nothing():
    result = step(Policy(levels=(Level(after=H, people=()),)), State(), elapsed=10 * H)
    assert result.notices == () and result.next_check is None


def test_a_level_without_a_repeat_is_told_once_whatever_the_cap():
    policy = Policy(
        levels=(
            Level(after=H, people=(OWNER,), repeat_every=float("inf")),
            Level(after=2 * H, people=(LEAD,), repeat_every=float("inf")),
        ),
        backoff_cap=4 * H,
    )
    result = step(policy, State(), elapsed=3 * H)
    assert result.notices == (Notice(OWNER, 0, ALERT), Notice(LEAD, 1, ESCALATION))
    assert result.next_check == float("inf")
    assert step(policy, result.state, elapsed=300 * H).notices == ()
