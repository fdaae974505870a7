from django.contrib import admin

from reviews.models import ActionItem, AgendaEntry, Breakage, ProjectorLink, Review


@admin.register(Breakage)
class BreakageAdmin(admin.ModelAdmin):
    list_display = ["title", "workflow", "kind", "week", "source", "reporter", "cost_days"]
    list_filter = ["kind", "source", "workflow"]
    search_fields = ["title", "description", "system_factor"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["items", "reporter"]
    list_select_related = ["workflow", "reporter"]


class AgendaEntryInline(admin.TabularInline):
    model = AgendaEntry
    extra = 0
    raw_id_fields = ["decided_by"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["week", "facilitator", "status", "closed_at"]
    list_filter = ["status"]
    filter_horizontal = ["attendees"]
    inlines = [AgendaEntryInline]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "due_date", "status", "closed_at", "repeat_check_due"]
    list_filter = ["status"]
    search_fields = ["title"]
    raw_id_fields = ["review", "breakage", "owner", "handoff", "protocol_version", "created_by"]
    list_select_related = ["owner"]


@admin.register(ProjectorLink)
class ProjectorLinkAdmin(admin.ModelAdmin):
    list_display = ["review", "created_by", "created_at", "revoked_at"]
    readonly_fields = ["nonce"]
