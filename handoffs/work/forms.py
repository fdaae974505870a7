import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape

from handoffs.work.models import DUE_SOON_DAYS, WorkItem
from handoffs.workflows.models import Cause, Stage, Team, Workflow

# --- Work items ------------------------------------------------------------------------------


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("full_name", "email")


class WorkItemCreateForm(forms.Form):
    workflow = forms.ModelChoiceField(queryset=Workflow.objects.none(), empty_label=None)
    title = forms.CharField(max_length=200, help_text="What the customer or requester calls it.")
    external_ref = forms.CharField(
        max_length=120,
        required=False,
        label="External reference",
        help_text="e.g. the CRM deal id.",
    )
    requested_at = forms.DateTimeField(
        required=False,
        label="Requested at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When the customer asked. Empty: now. The cycle time starts here.",
    )
    priority = forms.ChoiceField(choices=WorkItem.Priority.choices, initial="normal")
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Due date"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].queryset = Workflow.objects.filter(stages__isnull=False).distinct()


class WorkItemEditForm(forms.Form):
    """An item's details and the information its workflow's protocols ask for.

    The typed values are checked by the service (fields.clean_value); each field is named
    like the service's error keys (`fields.<key>`), so its messages land on the right input.
    """

    # The version the editor saw, exact to the microsecond (a DateTimeField would round-trip
    # it through the local time zone).
    updated_at = forms.CharField(widget=forms.HiddenInput, required=False)
    # Not required here: the service names an empty title together with the other problems.
    title = forms.CharField(max_length=200, required=False)
    priority = forms.ChoiceField(choices=WorkItem.Priority.choices)
    due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Due date",
        help_text="Once set, changing it follows the workflow’s decision rights.",
    )
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Owner",
        empty_label="Nobody: the team’s inbox",
    )
    external_ref = forms.CharField(max_length=120, required=False, label="External reference")

    def __init__(self, *args, item, definitions, **kwargs):
        initial = {
            "updated_at": item.updated_at.isoformat(),
            "title": item.title,
            "priority": item.priority,
            "due_date": item.due_date,
            "assignee": item.assignee_id,
            "external_ref": item.external_ref,
        }
        super().__init__(*args, initial=initial, **kwargs)
        # The current owner stays selectable even if deactivated: saving the title must not
        # silently unassign the item.
        self.fields["assignee"].queryset = _active_users() | get_user_model().objects.filter(
            pk=item.assignee_id
        )
        if item.source:
            self.fields["external_ref"].disabled = True
            self.fields[
                "external_ref"
            ].help_text = f"Given by {item.source}: replays and re-imports are matched on it."
        self.field_names = []
        for key, defn in definitions.items():
            field = _gate_field(defn)
            value = item.fields.get(key)
            field.initial = ("yes" if value else "no") if isinstance(value, bool) else value
            if defn.get("type") == "choice" and value and (value, value) not in field.choices:
                field.choices = [*field.choices, (value, value)]  # stored before a rule change
            self.fields[f"fields.{key}"] = field
            self.field_names.append(f"fields.{key}")

    def clean_updated_at(self):
        """A hidden field's error would show nowhere: it goes to the whole form."""
        try:
            seen = parse_datetime(self.cleaned_data["updated_at"])
        except ValueError:
            seen = None
        if seen is None or seen.tzinfo is None:
            self.add_error(None, "This form is out of date: reload the page and edit again.")
        return seen

    def field_rows(self):
        return [self[name] for name in self.field_names]

    def changes(self):
        """The service's keyword arguments; protocol fields only where the user changed them,
        so a value stored under an older rule is not re-checked when the title changes."""
        data = self.cleaned_data
        changes = {name: data[name] for name in ("title", "priority", "due_date", "assignee")}
        if not self.fields["external_ref"].disabled:
            changes["external_ref"] = data["external_ref"]
        changes["fields"] = {
            name.removeprefix("fields."): data[name]
            for name in self.field_names
            if name in self.changed_data
        }
        return {**changes, "expected_updated_at": data["updated_at"]}


def _missing_input_choices(version):
    """The protocol's checklist items and fields, as things a bounce can name as missing."""
    if version is None:
        return []
    checklist = [(item["text"], item["text"]) for item in version.checklist]
    fields = [(defn["label"], defn["label"]) for defn in version.fields]
    groups = [("Checklist", checklist)] if checklist else []
    return groups + ([("Information", fields)] if fields else [])


class RecoveryForm(forms.Form):
    """Bounce or block: name the missing input, who supplies it, and when to check again."""

    missing_choice = forms.ChoiceField(required=False, label="Missing input")
    missing_other = forms.CharField(
        max_length=200, required=False, label="Or describe it", help_text="Free text."
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Who must supply it",
        empty_label="Default: the protocol’s recovery owner or the sender",
    )
    next_check_at = forms.DateTimeField(
        required=False,
        label="Next check",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty: the protocol’s default delay.",
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, version=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["missing_choice"].choices = [("", "Pick from the protocol…")] + (
            _missing_input_choices(version)
        )
        self.fields["owner"].queryset = _active_users()

    def clean(self):
        data = super().clean()
        missing = (data.get("missing_other") or "").strip() or data.get("missing_choice") or ""
        if not missing:
            self.add_error("missing_choice", "Name the missing input: pick one or describe it.")
        data["missing_input"] = missing
        return data


class UnblockForm(forms.Form):
    cause = forms.ChoiceField(
        choices=Cause.choices,
        widget=forms.RadioSelect,
        label="Why was it missing?",
        error_messages={"required": "Pick the cause: person, process, tool or expectation."},
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was supplied, and anything the review should know.",
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500, error_messages={"required": "Say why the item is cancelled."}
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=5000,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write something first."},
    )


class HandoffGateForm(forms.Form):
    """The next protocol's checklist and fields, built from the published version.

    Nothing is required here: the service enforces the protocol, and its GateError
    is written back onto this form (add_gate_error) so the user sees exactly what is missing.
    """

    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Travels with the handoff to the receiving team.",
    )

    def __init__(self, *args, version, item, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.checklist = [
            {**entry, "required": entry.get("required", True)} for entry in version.checklist
        ]
        self.missing_checklist = set()
        for defn in version.fields:
            field = _gate_field(defn)
            value = item.fields.get(defn["key"])
            field.initial = ("yes" if value else "no") if isinstance(value, bool) else value
            field.protocol_required = bool(defn.get("required"))
            self.fields[f"field_{defn['key']}"] = field
        self.ticked = set(self.data.getlist("checklist")) if self.is_bound else set()

    def submitted_fields(self):
        return {
            defn["key"]: self.data.get(f"field_{defn['key']}", "") for defn in self.version.fields
        }

    def field_rows(self):
        return [self[f"field_{defn['key']}"] for defn in self.version.fields]

    def checklist_rows(self):
        return [
            {
                **entry,
                "ticked": entry["id"] in self.ticked,
                "missing": entry["id"] in self.missing_checklist,
            }
            for entry in self.checklist
        ]

    def add_gate_error(self, error):
        self.missing_checklist = set(error.missing_checklist)
        for key in error.missing_fields:
            self.add_error(f"field_{key}", "Required by the protocol: fill it in.")
        for key, message in error.field_errors.items():
            if f"field_{key}" in self.fields:
                self.add_error(f"field_{key}", message)
        self.add_error(None, error.message)


def _gate_field(defn):
    # A lead typed this help: escaped here, as Django's own field templates render
    # help_text unescaped (`|safe`), so no renderer can turn it into markup.
    label, help_text = defn.get("label") or defn["key"], escape(defn.get("help", ""))
    common = {"label": label, "help_text": help_text, "required": False}
    kind = defn.get("type")
    if kind == "long_text":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if kind in ("number", "money"):
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if kind == "date":
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "url":
        return forms.CharField(widget=forms.URLInput(), **common)
    if kind == "email":
        return forms.CharField(widget=forms.EmailInput(), **common)
    if kind == "choice":
        choices = [("", "—")] + [(c, c) for c in defn.get("choices") or []]
        return forms.ChoiceField(choices=choices, **common)
    if kind == "yes_no":
        return forms.ChoiceField(choices=[("", "—"), ("yes", "Yes"), ("no", "No")], **common)
    return forms.CharField(**common)


class WorkItemFilterForm(forms.Form):
    """The /work/ list's filters; every one maps onto an indexed column."""

    STATE_OPEN, STATE_ALL = "", "all"
    AGES = [("", "Any age"), ("1", "Older than 1 day"), ("7", "Older than 7 days")] + [
        ("30", "Older than 30 days")
    ]

    q = forms.CharField(required=False, label="Search", max_length=100)
    workflow = forms.ModelChoiceField(
        queryset=Workflow.objects.all(), required=False, empty_label="All workflows"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="All teams"
    )
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.all(), required=False, empty_label="All stages"
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label="Anyone"
    )
    state = forms.ChoiceField(
        required=False,
        choices=[(STATE_OPEN, "Open"), (STATE_ALL, "All")] + WorkItem.State.choices,
    )
    age = forms.ChoiceField(required=False, choices=AGES)
    DUE = [
        ("", "Any due date"),
        ("soon", "Due soon or overdue"),
        ("overdue", "Overdue"),
        ("at_risk", "At risk"),
    ]
    due = forms.ChoiceField(required=False, choices=DUE, label="Due")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _active_users()
        # The options as plain values (plain_select): no model per stage and owner.
        self.fields["stage"].options = lambda: [
            (pk, f"{workflow} › {name}")
            for pk, workflow, name in self.fields["stage"].queryset.values_list(
                "pk", "workflow__name", "name"
            )
        ]
        self.fields["owner"].options = lambda: [
            (pk, full_name or email)
            for pk, full_name, email in _active_users().values_list("pk", "full_name", "email")
        ]

    def filter(self, items):
        if not self.is_valid():
            return items.open()
        data = self.cleaned_data
        if data["state"] == self.STATE_OPEN:
            items = items.open()
        elif data["state"] != self.STATE_ALL:
            items = items.filter(state=data["state"])
        for name in ("workflow", "stage", "team"):
            if data[name]:
                items = items.filter(**{name if name != "team" else "stage__team": data[name]})
        if data["owner"]:
            items = items.filter(assignee=data["owner"])
        if data["age"]:
            cutoff = timezone.now() - datetime.timedelta(days=int(data["age"]))
            items = items.filter(requested_at__lte=cutoff)
        if data["due"]:
            items = _due_filter(items, data["due"])
        if data["q"].strip():
            q = data["q"].strip()
            items = items.filter(Q(title__icontains=q) | Q(external_ref__iexact=q))
        return items


def _due_filter(items, name):
    """The list's Due filter, by the markers' rules (WorkItem.due_status): the site's
    date, DUE_SOON_DAYS, and for "at risk" the stored 85% date after the due date."""
    today = timezone.localdate()
    items = items.open()
    if name == "soon":
        return items.filter(due_date__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
    if name == "overdue":
        return items.filter(due_date__lt=today)
    estimate_day = TruncDate("due_forecast__p85_at", tzinfo=timezone.get_current_timezone())
    return items.alias(estimate_day=estimate_day).filter(
        due_date__gte=today, estimate_day__gt=F("due_date")
    )
