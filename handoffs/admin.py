from django.contrib import admin

from handoffs.models import (
    Comment,
    Decision,
    DecisionMatrixChange,
    DecisionRight,
    DecisionType,
    EmailDelivery,
    Event,
    Handoff,
    Heartbeat,
    ImportBatch,
    IntakeDelivery,
    IntakeSource,
    Notification,
    ProtocolVersion,
    Recovery,
    Stage,
    StallEpisode,
    StallNotice,
    Team,
    TeamCalendar,
    TeamClosure,
    WebhookDelivery,
    WebhookSubscription,
    Workflow,
    WorkItem,
)


class TeamCalendarInline(admin.StackedInline):
    """The team's working time (docs/calendars.md); without one it counts calendar time."""

    model = TeamCalendar
    extra = 0
    max_num = 1


class TeamClosureInline(admin.TabularInline):
    model = TeamClosure
    extra = 0


@admin.register(TeamCalendar)
class TeamCalendarAdmin(admin.ModelAdmin):
    """Also on the team's calendar page (/teams/<id>/calendar/); here for the closed days."""

    list_display = ["team", "time_zone", "country", "subdivision"]
    inlines = [TeamClosureInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamCalendarInline]


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "is_sandbox", "created_at"]
    list_filter = ["is_sandbox"]
    search_fields = ["name"]
    inlines = [StageInline]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "workflow", "position", "team", "kind", "target"]
    list_filter = ["workflow", "team", "kind"]


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ["__str__", "workflow"]
    list_filter = ["workflow"]


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(admin.ModelAdmin):
    list_display = ["handoff", "number", "status", "published_at", "published_by"]
    list_filter = ["status", "handoff__workflow"]

    def has_change_permission(self, request, obj=None):
        # Published versions are immutable (also enforced by a database trigger).
        return obj is None or obj.status == ProtocolVersion.Status.DRAFT


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = ["title", "workflow", "stage", "state", "assignee", "requested_at"]
    list_filter = ["state", "workflow", "priority"]
    search_fields = ["title", "external_ref"]
    raw_id_fields = ["assignee", "created_by", "pending_version", "stage"]
    list_select_related = ["workflow", "stage", "assignee"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: the event log is append-only."""

    list_display = ["at", "kind", "item", "actor"]
    list_filter = ["kind"]
    raw_id_fields = ["item"]
    list_select_related = ["item", "actor"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Recovery)
class RecoveryAdmin(admin.ModelAdmin):
    list_display = ["item", "missing_input", "owner", "next_check_at", "closed_at", "cause"]
    list_filter = ["kind", "cause"]
    raw_id_fields = ["item"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["item", "author", "created_at"]
    raw_id_fields = ["item"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "message", "created_at", "read_at"]
    raw_id_fields = ["item"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_run_at"]


# --- Stalls ---------------------------------------------------------------------------------


class StallNoticeInline(admin.TabularInline):
    model = StallNotice
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "sequence", "delivery", "created_at"]


@admin.register(StallEpisode)
class StallEpisodeAdmin(admin.ModelAdmin):
    list_display = ["item", "kind", "owner", "started_at", "alerted_at", "escalated_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["item", "recovery", "owner", "escalate_to", "acknowledged_by"]
    list_select_related = ["item", "owner"]
    inlines = [StallNoticeInline]


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    """The outbox: every email opshub sends. SMTP failures stay here, retried with backoff,
    until they go (docs/operations.md)."""

    list_display = [
        "subject",
        "kind",
        "to_email",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "subject"]
    readonly_fields = ["message_id", "attempts", "last_error", "last_failed_at", "sent_at"]
    raw_id_fields = ["recipient"]


# --- Decision rights ---------------------------------------------------------------------------


@admin.register(DecisionType)
class DecisionTypeAdmin(admin.ModelAdmin):
    """Organisation-wide types (workflow empty) are created here; the matrix page edits the rest."""

    list_display = ["name", "workflow", "key", "default_level", "is_builtin"]
    list_filter = ["default_level", "is_builtin", "workflow"]
    search_fields = ["name", "key"]


@admin.register(DecisionRight)
class DecisionRightAdmin(admin.ModelAdmin):
    list_display = ["decision_type", "role", "team", "level", "approver", "approver_team"]
    list_filter = ["level", "role"]
    filter_horizontal = ["inform_users"]


@admin.register(DecisionMatrixChange)
class DecisionMatrixChangeAdmin(admin.ModelAdmin):
    list_display = ["workflow", "number", "summary", "changed_by", "changed_at"]
    list_filter = ["workflow"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["summary", "decision_type", "level", "status", "requester", "approver"]
    list_filter = ["level", "status"]
    search_fields = ["summary", "item__title"]
    raw_id_fields = ["item"]
    readonly_fields = ["level", "role", "matrix_version", "requested_at", "decided_at"]


# --- Integrations (docs/integrations.md) -----------------------------------------------------


@admin.register(IntakeSource)
class IntakeSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "workflow", "stage", "is_active"]
    # The secret is shown once, on the integrations page that created it: never here.
    exclude = ["secret"]
    readonly_fields = ["secret_hint"]

    def has_add_permission(self, request):
        return False  # created at /integrations/, which shows the new secret once


@admin.register(IntakeDelivery)
class IntakeDeliveryAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "status", "http_status", "event_id", "item"]
    list_filter = ["status", "source"]
    search_fields = ["event_id", "reason"]
    raw_id_fields = ["item"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "dispatched_through_event_id"]
    exclude = ["secret"]
    readonly_fields = ["secret_hint"]

    def has_add_permission(self, request):
        return False  # created at /integrations/, which shows the new secret once


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subscription", "kind", "status", "attempts", "response_code"]
    list_filter = ["status", "subscription"]
    raw_id_fields = ["event"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["created_at", "filename", "workflow", "row_count", "committed_at"]
    exclude = ["content"]
