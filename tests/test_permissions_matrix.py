"""Who gets in where: every URL pattern, walked as every persona, against the table below.

The table is the access policy, written down. A URL pattern without an entry fails the
test: whoever adds a page adds its row. To draft rows for new patterns, run

    OPSHUB_MATRIX_RECORD=1 pytest tests/test_permissions_matrix.py -s

which prints the observed answers in the table's format — then review them before pasting
(a viewer answering 200 on an edit page is a bug, not a row).

Besides the table, every answer is checked against two rules: no GET answers 500, and no
POST by an anonymous visitor or a viewer writes a row (PostgreSQL's per-transaction tuple
counters, pg_stat_xact_user_tables, must not move).
"""

import datetime
import io
import os
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PERSONAS = ("anon", "viewer", "member", "outsider", "lead", "admin")

# Answers: an HTTP status, "L" for a redirect to a login page, "R" for any other redirect.
# route (as written in urls.py): (object filling its parameters,
#                                 GET as anon viewer member outsider lead admin,
#                                 POST as anon viewer)
MATRIX = {
    "": (None, "L 200 200 200 200 200", "L 405"),
    "account/2fa/": (None, "L 200 200 200 200 200", "L 405"),
    "account/2fa/disable/": (None, "L 405 405 405 405 405", "L 400"),
    "account/2fa/recovery-codes/": (None, "L 405 405 405 405 405", "L 400"),
    "account/2fa/setup/": (None, "L 200 200 200 200 200", "L 200"),
    "account/2fa/verify/": (None, "L 200 200 200 200 200", "L 200"),
    "account/channels/": (None, "L 200 200 200 200 200", "L 403"),
    "account/home/": (None, "L R R R R R", "L R"),
    "account/home/choose/": (None, "L 405 405 405 405 405", "L 403"),
    "account/settings/": (None, "L 200 200 200 200 200", "L 200"),
    "account/tokens/<int:pk>/revoke/": ("api_token", "L 405 405 405 405 405", "L 404"),
    "accounts/login/": (None, "200 200 200 200 200 200", "200 200"),
    "accounts/logout/": (None, "405 405 405 405 405 405", "L L"),
    "accounts/password_change/": (None, "L 200 200 200 200 200", "L 200"),
    "accounts/password_change/done/": (None, "L 200 200 200 200 200", "L 405"),
    "accounts/password_reset/": (None, "200 200 200 200 200 200", "200 200"),
    "accounts/password_reset/done/": (None, "200 200 200 200 200 200", "405 405"),
    "accounts/reset/<uidb64>/<token>/": ("reset_link", "200 200 200 200 200 200", "200 200"),
    "accounts/reset/done/": (None, "200 200 200 200 200 200", "405 405"),
    "api/docs/": (None, "200 200 200 200 200 200", "405 405"),
    "api/schema/": (None, "200 200 200 200 200 200", "405 405"),
    "api/v1/": (None, "401 200 200 200 200 200", "401 405"),
    "api/v1/.*": (None, "404 404 404 404 404 404", "404 404"),
    "api/v1/action-items/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/action-items/<pk>/": ("action_item", "401 200 200 200 200 200", "401 405"),
    "api/v1/baselines/": (None, "401 403 403 200 200 200", "401 405"),
    "api/v1/baselines/<pk>/": ("baseline", "401 403 403 404 200 200", "401 405"),
    "api/v1/baselines/<pk>/discovery/": ("baseline", "401 403 403 404 200 200", "401 405"),
    "api/v1/breakages/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/breakages/<pk>/": ("breakage", "401 200 200 200 200 200", "401 405"),
    "api/v1/decisions/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/decisions/<pk>/": ("decision", "401 200 200 200 200 200", "401 405"),
    "api/v1/decisions/<pk>/approve/": ("decision", "401 405 405 405 405 405", "401 403"),
    "api/v1/decisions/<pk>/deny/": ("decision", "401 405 405 405 405 405", "401 403"),
    "api/v1/intake-sources/": (None, "401 403 403 403 403 200", "401 403"),
    "api/v1/intake-sources/<pk>/": ("intake_source", "401 403 403 403 403 200", "401 403"),
    "api/v1/intake-sources/<pk>/deliveries/": (
        "intake_source",
        "401 403 403 403 403 200",
        "401 403",
    ),
    "api/v1/intake-sources/<pk>/rotate-secret/": (
        "intake_source",
        "401 403 403 403 403 405",
        "401 403",
    ),
    "api/v1/intake/<slug:source>/": ("intake_slug", "405 405 405 405 405 405", "401 401"),
    "api/v1/notification-channels/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/notification-channels/<pk>/": ("channel", "401 404 404 404 200 200", "401 405"),
    "api/v1/notification-channels/<pk>/send-test/": (
        "channel",
        "401 405 405 405 405 405",
        "401 403",
    ),
    "api/v1/scoreboard/": (None, "401 200 200 200 200 200", "401 405"),
    # Without ?workflow= the question is incomplete: a 400 naming the field.
    "api/v1/scoreboard/forecast/": (None, "401 400 400 400 400 400", "401 405"),
    "api/v1/stalls/": (None, "401 200 200 200 200 200", "401 405"),
    "api/v1/stalls/<pk>/": ("stall", "401 200 200 200 200 200", "401 405"),
    "api/v1/stalls/<pk>/acknowledge/": ("stall", "401 405 405 405 405 405", "401 403"),
    "api/v1/stalls/<pk>/snooze/": ("stall", "401 405 405 405 405 405", "401 403"),
    "api/v1/teams/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/teams/<pk>/": ("team", "401 200 200 200 200 200", "401 405"),
    "api/v1/teams/<pk>/add-member/": ("team", "401 405 405 405 405 405", "401 403"),
    "api/v1/teams/<pk>/remove-member/": ("team", "401 405 405 405 405 405", "401 403"),
    "api/v1/users/": (None, "401 403 403 200 200 200", "401 403"),
    "api/v1/users/<pk>/": ("person", "401 403 403 200 200 200", "401 403"),
    "api/v1/users/<pk>/deactivate/": ("person", "401 403 403 405 405 405", "401 403"),
    "api/v1/users/<pk>/reactivate/": ("person", "401 403 403 405 405 405", "401 403"),
    "api/v1/users/<pk>/resend-invitation/": ("person", "401 403 403 405 405 405", "401 403"),
    "api/v1/webhook-subscriptions/": (None, "401 403 403 403 403 200", "401 403"),
    "api/v1/webhook-subscriptions/<pk>/": ("webhook", "401 403 403 403 403 200", "401 403"),
    "api/v1/webhook-subscriptions/<pk>/deliveries/": (
        "webhook",
        "401 403 403 403 403 200",
        "401 403",
    ),
    "api/v1/webhook-subscriptions/<pk>/rotate-secret/": (
        "webhook",
        "401 403 403 403 403 405",
        "401 403",
    ),
    "api/v1/work-items/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/work-items/<pk>/": ("item", "401 200 200 200 200 200", "401 405"),
    "api/v1/work-items/<pk>/accept/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/block/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/cancel/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/claim/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/deliver/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/events/": ("item", "401 200 200 200 200 200", "401 405"),
    "api/v1/work-items/<str:pk>/forecast/": ("item", "401 200 200 200 200 200", "401 405"),
    "api/v1/work-items/<pk>/handoff/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/reject/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/unblock/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/work-items/<pk>/undo-delivery/": ("item", "401 405 405 405 405 405", "401 403"),
    "api/v1/workflows/": (None, "401 200 200 200 200 200", "401 403"),
    "api/v1/workflows/<pk>/": ("workflow", "401 200 200 200 200 200", "401 405"),
    # Read by everyone signed in; replaced with PUT by the workflow's editors (the PUT rules:
    # tests/handoffs/test_escalation_policy_edit.py).
    "api/v1/workflows/<str:pk>/escalation-policy/": (
        "workflow",
        "401 200 200 200 200 200",
        "401 405",
    ),
    "channels/<int:pk>/delete/": ("channel", "L 405 405 405 405 405", "L 403"),
    "channels/<int:pk>/test/": ("channel", "L 405 405 405 405 405", "L 403"),
    "decisions/<int:pk>/answer/": ("decision", "L 405 405 405 405 405", "L R"),
    # The emailed Approve/Deny link: without its signed token, the item page (signed in).
    "decisions/<int:pk>/answer/email/": ("decision", "L R R R R R", "L R"),
    "discovery/": (None, "L 403 403 200 200 200", "L 403"),
    "discovery/<str:pk>/": ("baseline", "L 403 403 404 200 200", "L 405"),
    "discovery/<str:pk>/teams/": ("baseline", "L 405 405 405 405 405", "L 403"),
    "discovery/<str:pk>/workflow/": ("baseline", "L 405 405 405 405 405", "L 403"),
    "email/delivery/<str:token>/": ("email_delivery_token", "200 200 200 200 200 200", "R R"),
    "email/delivery/<str:token>/one-click/": (
        "email_delivery_token",
        "200 200 200 200 200 200",
        "200 200",
    ),
    "healthz": (None, "200 200 200 200 200 200", "405 405"),
    "integrations/": (None, "L 403 403 403 403 200", "L 405"),
    "integrations/deliveries/<int:pk>/": ("intake_delivery", "L 403 403 403 403 200", "L 405"),
    "integrations/intake/<int:pk>/": ("intake_source", "L 403 403 403 403 200", "L 405"),
    "integrations/intake/<int:pk>/edit/": ("intake_source", "L 403 403 403 403 200", "L 403"),
    "integrations/intake/<int:pk>/rotate/": ("intake_source", "L 405 405 405 405 405", "L 403"),
    "integrations/intake/new/": (None, "L 403 403 403 403 200", "L 403"),
    "integrations/webhooks/": (None, "L 403 403 403 403 200", "L 403"),
    "integrations/webhooks/<int:pk>/": ("webhook", "L 403 403 403 403 200", "L 405"),
    "integrations/webhooks/<int:pk>/test/": ("webhook", "L 405 405 405 405 405", "L 403"),
    "integrations/webhooks/<int:pk>/toggle/": ("webhook", "L 405 405 405 405 405", "L 403"),
    "integrations/webhooks/<int:pk>/edit/": ("webhook", "L 403 403 403 403 200", "L 403"),
    "integrations/webhooks/<int:pk>/rotate/": ("webhook", "L 405 405 405 405 405", "L 403"),
    "integrations/webhooks/<int:pk>/delete/": ("webhook", "L 403 403 403 403 200", "L 403"),
    "invitations/<str:token>/": ("invitation_token", "200 200 200 200 200 200", "400 400"),
    "map/": (None, "L 200 200 200 200 200", "L 405"),
    "notifications/": (None, "L 200 200 200 200 200", "L 405"),
    "notifications/<int:pk>/read/": ("notification", "L 405 405 405 405 405", "L 404"),
    "notifications/email/": (None, "L 405 405 405 405 405", "L 400"),
    "notifications/read-all/": (None, "L 405 405 405 405 405", "L R"),
    # Single sign-on is off here (no OIDC_ISSUER): both ends are absent.
    "oidc/authenticate/": (None, "404 404 404 404 404 404", "405 405"),
    "oidc/callback/": (None, "404 404 404 404 404 404", "405 405"),
    "people/": (None, "L 403 403 200 200 200", "L 405"),
    "people/<int:pk>/": ("person", "L 403 403 200 200 200", "L 405"),
    "people/<int:pk>/deactivate/": ("person", "L 405 405 405 405 405", "L 403"),
    "people/<int:pk>/reactivate/": ("person", "L 405 405 405 405 405", "L 403"),
    "people/<int:pk>/resend/": ("person", "L 405 405 405 405 405", "L 403"),
    "people/<int:pk>/role/": ("person", "L 405 405 405 405 405", "L 403"),
    "people/invite/": (None, "L 403 403 200 200 200", "L 403"),
    "ping/": (None, "L 200 200 200 200 200", "L 405"),
    "ops/scheduler/": (None, "L 403 403 403 403 200", "L 405"),
    "ops/scheduler/test-alert/": (None, "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/": ("handoff", "L 200 200 200 200 200", "L 405"),
    "protocols/<int:pk>/diff/": ("handoff", "L 404 404 404 404 404", "L 405"),
    "protocols/<int:pk>/draft/": ("handoff", "L 403 403 403 200 200", "L 403"),
    "protocols/<int:pk>/draft/check/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/draft/checklist/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/draft/discard/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/draft/entry/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/draft/fields/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/draft/problems/": ("handoff", "L 403 403 403 200 200", "L 405"),
    "protocols/<int:pk>/draft/publish/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/draft/settings/": ("handoff", "L 405 405 405 405 405", "L 403"),
    "protocols/<int:pk>/print/": ("handoff", "L 200 200 200 200 200", "L 405"),
    "reviews/": (None, "L 200 200 200 200 200", "L 405"),
    "reviews/<int:pk>/": ("review", "L 200 200 200 200 200", "L 405"),
    "reviews/<int:pk>/actions/": ("review", "L 405 405 405 405 405", "L 403"),
    "reviews/<int:pk>/close/": ("review", "L 403 403 200 200 200", "L 403"),
    "reviews/<int:pk>/edit/": ("review", "L 405 405 405 405 405", "L 403"),
    "reviews/<int:pk>/entries/": ("review", "L 405 405 405 405 405", "L 403"),
    "reviews/<int:pk>/links/": ("review", "L 405 405 405 405 405", "L 403"),
    "reviews/<int:pk>/projector/": ("review", "L 200 200 200 200 200", "L 405"),
    "reviews/actions/overdue/": (None, "L 200 200 200 200 200", "L 405"),
    "reviews/actions/<int:pk>/status/": ("action_item", "L 405 405 405 405 405", "L R"),
    "reviews/audit/": (None, "L 200 200 200 200 200", "L 405"),
    "reviews/breakages/<int:pk>/": ("breakage", "L 200 200 200 200 200", "L 405"),
    "reviews/breakages/new/": (None, "L 403 200 200 200 200", "L 403"),
    "reviews/current/": (None, "L 405 405 405 405 405", "L R"),
    "reviews/links/<int:pk>/revoke/": ("projector_link", "L 405 405 405 405 405", "L 403"),
    "reviews/p/<str:token>/": ("projector_token", "200 200 200 200 200 200", "405 405"),
    "reviews/patterns/": (None, "L 200 200 200 200 200", "L 405"),
    "scoreboard/import/": (None, "L 403 403 200 200 200", "L 403"),
    # An import behind a progress bar: whoever started it (the lead here) and admins.
    "scoreboard/import/<str:pk>/": ("import_run", "L 403 403 404 200 200", "L 405"),
    "scoreboard/items/<int:pk>/forecast/": ("item", "L 200 200 200 200 200", "L 405"),
    "scoreboard/workflows/<int:pk>/at-risk/": ("workflow", "L 200 200 200 200 200", "L 405"),
    "scoreboard/workflows/<int:pk>/commitment/": ("workflow", "L 405 405 405 405 405", "L 403"),
    "scoreboard/workflows/<int:pk>/flow/": ("workflow", "L 200 200 200 200 200", "L 405"),
    "scoreboard/workflows/<int:pk>/target/": ("workflow", "L 405 405 405 405 405", "L 403"),
    "stages/<int:pk>/": ("stage", "L 403 403 403 200 200", "L 403"),
    "stages/<int:pk>/move/": ("stage", "L 405 405 405 405 405", "L 403"),
    "stages/<int:pk>/remove/": ("stage", "L 405 405 405 405 405", "L 403"),
    "stalls/": (None, "L 200 200 200 200 200", "L 405"),
    "stalls/<int:pk>/": ("stall", "L 200 200 200 200 200", "405 405"),
    "stalls/<int:pk>/acknowledge/": ("stall", "405 405 405 405 405 405", "L 403"),
    "stalls/<int:pk>/snooze/": ("stall", "405 405 405 405 405 405", "L 403"),
    "styleguide/": (None, "L 403 403 403 403 200", "L 405"),
    "teams/": (None, "L 200 200 200 200 200", "L 405"),
    "teams/<int:pk>/": ("team", "L 200 200 200 200 200", "L 405"),
    "teams/<int:pk>/calendar/": ("team", "L 200 200 200 200 200", "L 403"),
    "teams/<int:pk>/calendar/closures/": ("team", "L 405 405 405 405 405", "L 403"),
    "teams/<int:pk>/calendar/closures/<int:closure_pk>/remove/": (
        "closure",
        "L 405 405 405 405 405",
        "L 403",
    ),
    "teams/<int:pk>/channels/": ("team", "L 403 403 403 200 200", "L 403"),
    "teams/<int:pk>/delete/": ("team", "L 405 405 405 405 405", "L 403"),
    "teams/<int:pk>/edit/": ("team", "L 403 403 403 403 200", "L 403"),
    "teams/<int:pk>/members/": ("team", "L 405 405 405 405 405", "L 403"),
    "teams/<int:pk>/members/<int:user_pk>/remove/": (
        "team_member",
        "L 405 405 405 405 405",
        "L 403",
    ),
    "teams/new/": (None, "L 403 403 403 403 200", "L 403"),
    "work/": (None, "L 200 200 200 200 200", "L 200"),
    "work/<int:pk>/": ("item", "L 200 200 200 200 200", "L 405"),
    "work/<int:pk>/accept/": ("item", "L 405 405 405 405 405", "L R"),
    "work/<int:pk>/block/": ("item", "L 405 405 405 405 405", "L 400"),
    "work/<int:pk>/bounce/": ("item", "L 405 405 405 405 405", "L 400"),
    "work/<int:pk>/cancel/": ("item", "L 405 405 405 405 405", "L 400"),
    "work/<int:pk>/claim/": ("item", "L 405 405 405 405 405", "L 403"),
    "work/<int:pk>/comment/": ("item", "L 405 405 405 405 405", "L 400"),
    "work/<int:pk>/decisions/": ("item", "L 403 200 403 200 200", "L 403"),
    "work/<int:pk>/deliver/": ("item", "L 405 405 405 405 405", "L 403"),
    "work/<int:pk>/edit/": ("item", "L 405 405 405 405 405", "L 403"),
    "work/<int:pk>/handoff/": ("item", "L 405 405 405 405 405", "L 403"),
    "work/<int:pk>/unblock/": ("item", "L 405 405 405 405 405", "L 400"),
    "work/<int:pk>/undo-delivery/": ("item", "L 405 405 405 405 405", "L 403"),
    "work/board/": (None, "L R R R R R", "L R"),
    "work/board/<int:workflow_pk>/": ("board", "L 200 200 200 200 200", "L 200"),
    "work/import/": (None, "L 403 200 200 200 200", "L 403"),
    "work/import/<int:pk>/": ("import_batch", "L 403 403 403 403 200", "L 403"),
    "work/inbox/": (None, "L 200 200 200 200 200", "L 405"),
    "work/mine/": (None, "L 200 200 200 200 200", "L 405"),
    "work/new/": (None, "L 403 200 200 200 200", "L 403"),
    "workflows/": (None, "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/": ("workflow", "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/decisions/": ("workflow", "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/decisions/cell/": ("workflow", "L 405 405 405 405 405", "L 404"),
    "workflows/<int:pk>/decisions/log/": ("workflow", "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/decisions/print/": ("workflow", "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/decisions/types/<int:type_pk>/": (
        "decision_type",
        "L 403 403 403 200 200",
        "L 403",
    ),
    "workflows/<int:pk>/decisions/types/<int:type_pk>/<str:role>/": (
        "decision_right",
        "L 403 403 403 200 200",
        "L 403",
    ),
    "workflows/<int:pk>/decisions/types/new/": ("workflow", "L 403 403 403 200 200", "L 403"),
    "workflows/<int:pk>/delete/": ("workflow", "L 405 405 405 405 405", "L 403"),
    "workflows/<int:pk>/edit/": ("workflow", "L 403 403 403 200 200", "L 403"),
    "workflows/<int:pk>/escalation/": ("workflow", "L 405 405 405 405 405", "L 403"),
    "workflows/<int:pk>/export/events.csv": ("workflow", "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/export/items.csv": ("workflow", "L 200 200 200 200 200", "L 405"),
    "workflows/<int:pk>/stages/": ("workflow", "L 405 405 405 405 405", "L 403"),
    "workflows/new/": (None, "L 403 403 200 200 200", "L 403"),
}

# Without login, only these answer anything but a login redirect or 401/403/404/405.
PUBLIC = {
    "healthz",
    "accounts/login/",
    "accounts/logout/",
    "accounts/password_reset/",
    "accounts/password_reset/done/",
    "accounts/reset/<uidb64>/<token>/",
    "accounts/reset/done/",
    "api/schema/",
    "api/docs/",
    "api/v1/intake/<slug:source>/",
    "reviews/p/<str:token>/",
    "invitations/<str:token>/",
    "email/delivery/<str:token>/",
    "email/delivery/<str:token>/one-click/",
}

# The Django admin: one rule for all its generated patterns (staff only).
ADMIN_PREFIX = "admin/"

# POSTs that end the session: the persona logs in again after them.
LOGS_OUT = {"accounts/logout/"}

# Writes a refused request makes on purpose: the signed webhook logs every delivery attempt,
# refused ones included, so an integrator can see why theirs failed.
ALLOWED_WRITES = {
    "api/v1/intake/<slug:source>/": {"handoffs_intakedelivery"},
    # The signed link in an email, not a session, authorises switching its own recipient's
    # email preference (the page's form is CSRF-protected; RFC 8058 one-click is not).
    "email/delivery/<str:token>/": {"accounts_user"},
    "email/delivery/<str:token>/one-click/": {"accounts_user"},
}

# The admin's own login and logout pages (the login is on the public allowlist).
ADMIN_PUBLIC = {"admin/login/", "admin/logout/"}

# Tables whose rows any request may touch (sessions, login throttling): not "writes".
NOT_WRITES = re.compile(r"^(django_session|axes_)")

RECORD = os.environ.get("OPSHUB_MATRIX_RECORD") == "1"
FORMAT_SUFFIX = re.compile(r"\\\.\(\?P<format>[^)]*\)/\?\$$|<drf_format_suffix:format>$")


# --- The organisation every row is checked against ---------------------------------------------


@pytest.fixture
def org(db, settings):
    """seed_demo's organisation, plus one of each object the demo may not make."""
    from handoffs.models import (
        Decision,
        DecisionType,
        ImportBatch,
        IntakeDelivery,
        IntakeSource,
        Notification,
        NotificationChannel,
        StallEpisode,
        TeamCalendar,
        TeamClosure,
        WebhookSubscription,
        Workflow,
    )
    from handoffs.people import services as people
    from handoffs.work import services
    from handoffs.workflows import services as wf
    from opshub.accounts.models import ApiToken, User
    from opshub.lib import signing
    from opshub.mail import preferences as email_preferences
    from reviews.models import ActionItem, Breakage, ProjectorLink, Review
    from scoreboard.discovery.services import baseline_create
    from scoreboard.imports.models import ImportRun

    call_command("seed_demo", items=12, days=21, seed=3, verbosity=0, stdout=io.StringIO())
    # The lead and member of the team now working on an open item; the outsider leads a
    # team with no stage in its workflow.
    workflow = Workflow.objects.filter(is_sandbox=False).order_by("pk").first()
    team = workflow.stages.order_by("position").first().team
    lead = team.lead
    item = services.work_item_create(workflow=workflow, title="Matrix order", by=lead)
    in_workflow = set(workflow.stages.values_list("team_id", flat=True))
    outsider = (
        User.objects.filter(role=User.Role.LEAD, is_active=True)
        .exclude(led_teams__in=in_workflow)
        .exclude(teams__in=in_workflow)
        .order_by("pk")
        .first()
    )
    member = team.members.exclude(pk=lead.pk).order_by("pk").first()
    handoff = workflow.handoffs.order_by("pk").first()
    wf.protocol_draft(handoff=handoff, by=lead)
    admin = User.objects.get(email="admin@example.com")
    source = IntakeSource.objects.first() or IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        secret=signing.new_secret(),
        workflow=workflow,
        stage=workflow.stages.order_by("position").first(),
        mapping={"title": "deal.name"},
    )
    delivery = IntakeDelivery.objects.first() or IntakeDelivery.objects.create(
        source=source, status=IntakeDelivery.Status.values[0], http_status=201
    )
    webhook = WebhookSubscription.objects.first() or WebhookSubscription.objects.create(
        name="Ops feed", url="https://hooks.example.com/opshub", secret="whsec_x"
    )
    baseline = baseline_create(
        name="crm.csv",
        data=b"case_id,activity,timestamp,resource\nA,Won,2025-03-03T09:00:00Z,ann\n",
        by=lead,
    )
    batch = ImportBatch.objects.first() or ImportBatch.objects.create(
        workflow=workflow, filename="items.csv", content=b"title\nA\n", uploaded_by=admin
    )
    review = Review.objects.order_by("-pk").first()
    link = ProjectorLink.objects.create(review=review, created_by=admin)
    token, _ = ApiToken.issue(user=lead, name="script")
    channel = NotificationChannel.objects.create(
        team=team, name="#team", url="json://93.184.215.14/hook", events=["stall_alert"]
    )
    calendar, _ = TeamCalendar.objects.get_or_create(team=team)
    closure = TeamClosure.objects.create(
        calendar=calendar, date=datetime.date(2030, 1, 2), reason="Inventory"
    )
    invited = people.person_invite(by=admin, email="invited@example.com", team=team)
    return {
        "personas": {
            "viewer": User.objects.filter(role=User.Role.VIEWER).first(),
            "member": member,
            "outsider": outsider,
            "lead": lead,
            "admin": admin,
        },
        "item": {"pk": item.pk},
        "workflow": {"pk": workflow.pk},
        "board": {"workflow_pk": workflow.pk},
        "stage": {"pk": workflow.stages.order_by("position").first().pk},
        "handoff": {"pk": handoff.pk},
        "decision_type": {
            "pk": workflow.pk,
            "type_pk": DecisionType.objects.for_workflow(workflow).first().pk,
        },
        "decision_right": {
            "pk": workflow.pk,
            "type_pk": DecisionType.objects.for_workflow(workflow).first().pk,
            "role": "member",
        },
        "decision": {"pk": Decision.objects.order_by("pk").first().pk},
        "notification": {"pk": Notification.objects.filter(user=lead).first().pk}
        if Notification.objects.filter(user=lead).exists()
        else {"pk": Notification.objects.first().pk},
        "stall": {"pk": StallEpisode.objects.order_by("pk").first().pk},
        "intake_source": {"pk": source.pk},
        "intake_slug": {"source": source.slug},
        "intake_delivery": {"pk": delivery.pk},
        "webhook": {"pk": webhook.pk},
        "import_batch": {"pk": batch.pk},
        "baseline": {"pk": baseline.pk},
        "import_run": {
            "pk": ImportRun.objects.create(requested_by=lead, workflow_name="Matrix import").pk
        },
        "review": {"pk": review.pk},
        "projector_link": {"pk": link.pk},
        "projector_token": {"token": link.token},
        "action_item": {"pk": ActionItem.objects.order_by("pk").first().pk},
        "breakage": {"pk": Breakage.objects.order_by("pk").first().pk},
        "api_token": {"pk": token.pk},
        "channel": {"pk": channel.pk},
        "team": {"pk": team.pk},
        "closure": {"pk": team.pk, "closure_pk": closure.pk},
        "team_member": {"pk": team.pk, "user_pk": member.pk},
        "person": {"pk": member.pk},
        "invitation_token": {"token": people.invitation_token(invited)},
        "reset_link": {"uidb64": "MQ", "token": "set-password"},
        "email_delivery_token": {"token": email_preferences.token_for(lead, "digest")},
    }


# --- Walking the URL patterns ------------------------------------------------------------------


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _route_key(route):
    """The table's key: the route as written, DRF's regexes shown as <name>, and DRF's
    format-suffix twin folded into the route it doubles."""
    key = FORMAT_SUFFIX.sub("", route)
    suffixed = key != route
    key = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", key).replace("^", "").replace("$", "")
    return key + "/" if suffixed and not key.endswith("/") else key


def _path(route, params):
    params = {**params, "format": "json"}

    def fill(match):
        return str(params[match.group("name")])

    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", fill, route)
    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", fill, path)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return "/" + path


def _answer(response):
    if response.status_code in (301, 302, 303):
        location = response.headers.get("Location", "")
        return "L" if "/login/" in location else "R"
    return str(response.status_code)


def _writes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {name: n for name, n in cursor.fetchall() if not NOT_WRITES.match(name) and n}


def _clients(org):
    clients = {"anon": Client(raise_request_exception=False)}
    for persona, user in org["personas"].items():
        assert user is not None, f"the demo organisation has no {persona}"
        clients[persona] = Client(raise_request_exception=False)
        clients[persona].force_login(user)
    return clients


def _routes():
    seen = {}
    for route, _pattern in _walk(get_resolver().url_patterns):
        if route.startswith(ADMIN_PREFIX):
            continue
        seen.setdefault(_route_key(route), []).append(route)
    return seen


def test_every_url_pattern_has_a_row_in_the_matrix():
    missing = sorted(set(_routes()) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(_routes()))
    assert not missing or RECORD, f"URL patterns without a row in MATRIX: {missing}"
    assert not stale, f"MATRIX rows for URL patterns that no longer exist: {stale}"


def test_every_persona_gets_the_answer_the_matrix_gives(org):
    clients = _clients(org)
    problems, recorded = [], {}
    for key, routes in sorted(_routes().items()):
        kind = MATRIX.get(key, (None, None, None))[0]
        if "<" in key and kind is None:
            problems.append(f"{key}: no object named for its parameters")
            continue
        params = org[kind] if kind else {}
        answers = []  # every route of a key is checked; the first one's answers are its row
        for route in routes:
            path = _path(route, params)
            answers.append(
                (
                    _get_answers(clients, key, path, problems),
                    _post_answers(clients, org, key, path, problems),
                )
            )
        gets, posts = (" ".join(seen) for seen in answers[0])
        recorded[key] = (kind, gets, posts)
        if not RECORD:
            problems += _differences_from_the_matrix(key, gets, posts)
    if RECORD:
        for key, (kind, gets, posts) in recorded.items():
            print(f'    "{key}": ({kind!r}, "{gets}", "{posts}"),')
    assert not problems, "\n".join(problems)


def _get_answers(clients, key, path, problems):
    """Each persona's answer to a GET; a 500, or an anonymous read outside PUBLIC, is a problem."""
    answers = []
    for persona in PERSONAS:
        answer = _answer(clients[persona].get(path))
        answers.append(answer)
        if answer == "500":
            problems.append(f"GET {path} as {persona}: 500")
        if persona == "anon" and key not in PUBLIC and answer not in "L 401 403 404 405":
            problems.append(f"GET {path} as anon: {answer} (not in the public allowlist)")
    return answers


def _post_answers(clients, org, key, path, problems):
    """The anonymous visitor's and the viewer's answers to an empty POST; a 500, or a POST
    that wrote rows (beyond ALLOWED_WRITES), is a problem."""
    answers = []
    for persona in ("anon", "viewer"):
        before = _writes()
        answer = _answer(clients[persona].post(path, {}))
        after = _writes()
        answers.append(answer)
        if key in LOGS_OUT and persona != "anon":
            clients[persona].force_login(org["personas"][persona])
        changed = _changed_rows(before, after, allowed=ALLOWED_WRITES.get(key, set()))
        if changed is not None:
            problems.append(f"POST {path} as {persona} wrote rows: {changed}")
        if answer == "500":
            problems.append(f"POST {path} as {persona}: 500")
    return answers


def _changed_rows(before, after, *, allowed):
    """{table: rows written} between two _writes(), or None when nothing but `allowed` changed."""
    after = {t: n for t, n in after.items() if t not in allowed}
    before = {t: n for t, n in before.items() if t not in allowed}
    if after == before:
        return None
    return {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t)}


def _differences_from_the_matrix(key, gets, posts):
    _, get_expected, post_expected = MATRIX.get(key, (None, None, None))
    if get_expected is None:
        return []
    problems = []
    if gets != get_expected:
        problems.append(f"GET {key}: expected {get_expected}, got {gets}")
    if posts != post_expected:
        problems.append(f"POST {key}: expected {post_expected}, got {posts}")
    return problems


# --- The Django admin: staff only, every generated pattern ----------------------------------


def _admin_routes():
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(ADMIN_PREFIX):
            yield route, pattern


def _admin_params(pattern, org):
    from django.contrib.contenttypes.models import ContentType

    from opshub.accounts.models import User

    model_admin = getattr(pattern.callback, "model_admin", None)
    model = model_admin.model if model_admin else User
    obj = model._default_manager.order_by("pk").first()
    admin = org["personas"]["admin"]
    return {
        "object_id": obj.pk if obj else 0,
        "pk": obj.pk if obj else 0,  # django-otp's device config and QR code pages
        "app_label": model._meta.app_label,
        "content_type_id": ContentType.objects.get_for_model(User).pk,
        "url": "nowhere/",
        "id": admin.pk,
    }


def test_the_admin_is_for_staff_only_and_never_fails(org):
    """Anonymous visitors and (non-staff) leads are sent to the admin login from every admin
    URL; a viewer's POST gets nowhere; the admin's own list, add and change pages render."""
    clients = _clients(org)
    problems = []
    for route, pattern in _admin_routes():
        if route in ADMIN_PUBLIC:
            continue
        path = _path(route, _admin_params(pattern, org)).replace(".*", "")
        for persona in ("anon", "lead"):
            answer = _answer(clients[persona].get(path))
            if answer != "L":
                problems.append(f"GET {path} as {persona}: {answer}")
        before = _writes()
        if _answer(clients["viewer"].post(path, {})) != "L" or _writes() != before:
            problems.append(f"POST {path} as viewer got in")
        if (pattern.name or "").endswith(("_changelist", "_add", "_change")) or route == "admin/":
            answer = _answer(clients["admin"].get(path))
            if answer not in ("200", "R", "403"):
                problems.append(f"GET {path} as admin: {answer}")
    assert not problems, "\n".join(problems)


# --- Refused with a valid payload, not only an empty one ------------------------------------


def test_a_viewer_is_refused_even_with_a_valid_request(client, viewer, workflow, item):
    """The routes where an empty POST once answered 400 (validation first): with valid data
    the viewer is refused just the same, and writes nothing."""
    from handoffs.models import Comment, Recovery, Workflow, WorkItem

    client.force_login(viewer)
    items, workflows = WorkItem.objects.count(), Workflow.objects.count()
    api = [
        ("/api/v1/work-items/", {"workflow": workflow.pk, "title": "Sneaky"}),
        ("/api/v1/workflows/", {"name": "Shadow process"}),
        (f"/api/v1/work-items/{item.pk}/block/", {"missing_input": "A PO", "cause": "tool"}),
        (f"/api/v1/work-items/{item.pk}/cancel/", {"reason": "Not wanted"}),
    ]
    for path, body in api:
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 403, (path, response.status_code)
        assert response.json() == {"detail": "Viewers have read-only access."}
    assert client.post(f"/work/{item.pk}/comment/", {"body": "hello"}).status_code == 403
    assert client.post(f"/work/{item.pk}/block/", {"missing_input": "PO"}).status_code in (
        400,
        403,
    )
    assert WorkItem.objects.count() == items and Workflow.objects.count() == workflows
    assert not Comment.objects.exists() and not Recovery.objects.exists()


def test_a_viewer_writing_to_the_api_is_refused_before_validation_or_state(org):
    """Refusal order 401 → 403 → 404 → 400/409: whatever a viewer writes to whichever /api/v1/
    URL, the answer is 403 with a JSON message (405 where nobody may use the method), never
    a 400 or 409 that would describe the body or the object's state."""
    client = _clients(org)["viewer"]
    problems = []
    for key, routes in sorted(_routes().items()):
        # The signed intake endpoint has no sign-in (its signature answers 401 first).
        if not key.startswith("api/v1/") or key in ("api/v1/.*", "api/v1/intake/<slug:source>/"):
            continue
        path = _path(routes[0], org[MATRIX[key][0]] if MATRIX[key][0] else {})
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)(path, {}, content_type="application/json")
            if response.status_code not in (403, 405) or "detail" not in response.json():
                problems.append(f"{method.upper()} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
