from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from opshub.accounts.models import ApiToken, AuditEntry, User

# What the audit trail compares when an admin saves a user (never the password hash).
AUDITED_USER_FIELDS = ["email", "full_name", "role", "is_active", "is_staff", "is_superuser"]


def _audited(user):
    return {name: getattr(user, name) for name in AUDITED_USER_FIELDS}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Profile",
            {
                "fields": [
                    "full_name",
                    "role",
                    "time_zone",
                    "work_starts",
                    "work_ends",
                    "email_delivery",
                ]
            },
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})
    ]

    def save_model(self, request, obj, form, change):
        before = _audited(User.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        after = _audited(obj)
        if before == after:
            return
        changed = sorted(k for k in after if before is None or before[k] != after[k])
        AuditEntry.objects.record(
            actor=request.user,
            action=AuditEntry.Action.UPDATE if change else AuditEntry.Action.CREATE,
            obj=obj,
            summary=f"{'Changed' if change else 'Created'} user {obj.email}"
            + (f": {', '.join(changed)}" if change else f" ({obj.role})"),
            before=before,
            after=after,
        )

    def delete_model(self, request, obj):
        AuditEntry.objects.record(
            actor=request.user,
            action=AuditEntry.Action.DELETE,
            obj=obj,
            summary=f"Deleted user {obj.email}",
            before=_audited(obj),
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            AuditEntry.objects.record(
                actor=request.user,
                action=AuditEntry.Action.DELETE,
                obj=user,
                summary=f"Deleted user {user.email}",
                before=_audited(user),
            )
        super().delete_queryset(request, queryset)

    def log_change(self, request, obj, message):
        # The password form saves without save_model; its change is logged through here.
        if request.resolver_match and request.resolver_match.url_name == (
            "auth_user_password_change"
        ):
            AuditEntry.objects.record(
                actor=request.user,
                action=AuditEntry.Action.PASSWORD,
                obj=obj,
                summary=f"Set a new password for {obj.email}",
            )
        return super().log_change(request, obj, message)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_hash", "key_hint", "created_at", "last_used_at"]
    search_fields = ["name", "user__email"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by the app, never edited by hand."""

    list_display = ["at", "actor_email", "action", "object_type", "object_repr", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["summary", "actor_email", "object_repr", "object_id"]
    date_hierarchy = "at"
    list_select_related = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
