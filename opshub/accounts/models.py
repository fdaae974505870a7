import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from opshub.lib.timezones import zone_or_utc


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        if extra.get("role") == User.Role.ADMIN:
            # Admins manage everything, the Django admin included.
            extra.setdefault("is_staff", True)
            extra.setdefault("is_superuser", True)
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("role", User.Role.ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        LEAD = "lead", "Lead"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    class Home(models.TextChoices):
        MY_WORK = "my_work", "My work"
        SCOREBOARD = "scoreboard", "Scoreboard"

    class Delivery(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        DIGEST = "digest", "Daily digest"

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Quiet hours: alerts wait until the user's working hours in their time zone.
    time_zone = models.CharField(max_length=64, default="UTC")
    work_starts = models.TimeField(null=True, blank=True)
    work_ends = models.TimeField(null=True, blank=True)
    email_delivery = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.IMMEDIATE
    )
    # An invited account stays inactive until its invitation is accepted (docs/teams.md);
    # a deactivated one keeps its rows, so the history still names who did what.
    invited_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    # Where signing in lands (accounts.views.home): a lead may prefer the scoreboard.
    home = models.CharField(max_length=12, choices=Home.choices, default=Home.MY_WORK)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_admin(self):
        return self.role == self.Role.ADMIN or self.is_superuser

    @property
    def is_viewer(self):
        return self.role == self.Role.VIEWER and not self.is_superuser

    @property
    def is_invited(self):
        """Invited and not yet accepted: the invitation link is still the way in."""
        return not self.is_active and self.invited_at is not None and self.deactivated_at is None

    @property
    def status(self):
        if self.is_active:
            return "active"
        return "invited" if self.is_invited else "deactivated"

    @property
    def zone(self):
        """The person's time zone; UTC when unset or unknown (opshub.lib.timezones)."""
        return zone_or_utc(self.time_zone)

    @property
    def can_write(self):
        return self.is_active and not self.is_viewer

    @property
    def can_create_workflows(self):
        """Admins and leads by role: a lead may map a new workflow before leading any of its
        teams (Workflow.can_edit then lets the creator keep editing it)."""
        return self.can_write and (self.is_admin or self.role == self.Role.LEAD)


def _hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at=None, user__is_active=True)

    def authenticate(self, raw):
        return self.active().select_related("user").filter(key_hash=_hash_token(raw)).first()


class ApiToken(models.Model):
    """A per-user API token. Only a SHA-256 of the key is stored; the key is shown once."""

    PREFIX = "opsh_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    key_hint = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.key_hint}…)"

    @classmethod
    def issue(cls, *, user, name):
        """Returns (token, raw_key). The raw key exists only in this return value."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=_hash_token(raw), key_hint=raw[:10]
        )
        return token, raw

    def revoke(self):
        ApiToken.objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=timezone.now())


# --- Audit trail (docs/operations.md, "Audit trail") -------------------------------------------


class AuditEntryQuerySet(models.QuerySet):
    def record(self, *, actor, action, obj, summary, before=None, after=None):
        """One entry, written in the caller's transaction (a rolled-back change logs nothing)."""
        return self.create(
            actor=actor if actor is not None and actor.pk else None,
            actor_email=getattr(actor, "email", "") or "",
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            summary=summary[:300],
            before=before,
            after=after,
        )

    def for_object(self, obj):
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AuditEntry(models.Model):
    """Who changed the rules everyone works by: protocols, decision rights, users, intake
    sources. Written by the services and the admin; the admin shows it read-only."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        PUBLISH = "publish", "Published"
        PASSWORD = "password", "Password set"
        ROTATE_SECRET = "rotate_secret", "Secret rotated"

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept beside the key so the trail still names a person after their account is deleted.
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=100, help_text="app_label.model")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    summary = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The admin list, newest first.
            models.Index(fields=["-at"], name="audit_at"),
            # The history of one object (for_object).
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or 'system'}: {self.summary}"
