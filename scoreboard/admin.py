from django.contrib import admin

from scoreboard.models import DeliveredItemFact, QuarterTarget


@admin.register(QuarterTarget)
class QuarterTargetAdmin(admin.ModelAdmin):
    list_display = ["workflow", "metric", "target", "set_by", "updated_at"]
    list_select_related = ["workflow", "set_by"]
    raw_id_fields = ["set_by"]


@admin.register(DeliveredItemFact)
class DeliveredItemFactAdmin(admin.ModelAdmin):
    """Read-only: facts are derived from the event log (run compute_scoreboard to rebuild)."""

    list_display = ["item", "workflow", "delivered_at", "cycle_seconds", "handoffs", "bounces"]
    list_filter = ["workflow"]
    list_select_related = ["item", "workflow"]
    date_hierarchy = "delivered_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
