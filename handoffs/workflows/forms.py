from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model

from handoffs.workflows.fields import FIELD_TYPES, validate_definition
from handoffs.workflows.models import ProtocolVersion, Stage, Team, Workflow
from handoffs.workflows.policies import (
    DEFAULT_RULE,
    MAX_HOURS,
    MAX_LEVELS,
    EscalationLevel,
    from_hours,
    levels_of,
)
from opshub.lib.durations import format_duration, parse_duration
from opshub.lib.ids import parse_id

DURATION_HELP = "Like 4h, 2d, 1d 4h or 30m. A bare number means hours."


class DurationField(forms.Field):
    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", DURATION_HELP)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value if isinstance(value, str) else format_duration(value)

    def to_python(self, value):
        if len(str(value or "")) > 40:
            raise forms.ValidationError("Write a time like 4h, 2d or 1d 4h.")
        try:
            return parse_duration(str(value or ""))
        except ValueError:
            raise forms.ValidationError("Write a time like 4h, 2d or 1d 4h.") from None


# --- Workflows and stages --------------------------------------------------------------------


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = ["name", "description", "is_sandbox"]
        labels = {"is_sandbox": "Sandbox (a safe place to practise; kept off the scoreboard)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"is_sandbox": ""}


class StageForm(forms.ModelForm):
    target = DurationField(
        required=False,
        label="Target time",
        help_text="How long work may stay in this stage before it stalls. " + DURATION_HELP,
    )

    class Meta:
        model = Stage
        fields = ["name", "team", "kind", "target"]
        labels = {"kind": "Kind"}

    def __init__(self, *args, workflow, **kwargs):
        super().__init__(*args, **kwargs)
        self.workflow = workflow
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["team"].empty_label = "Choose the owning team"

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = self.workflow.stages.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another stage of this workflow has that name.")
        return name


# --- Protocol drafts -------------------------------------------------------------------------


class ChecklistItemForm(forms.Form):
    text = forms.CharField(
        max_length=200, label="What must be true", help_text="e.g. “Signed contract attached”."
    )
    help = forms.CharField(
        max_length=300, required=False, label="Help", help_text="Where to find it, how to check."
    )
    required = forms.BooleanField(
        required=False, initial=True, label="Required (otherwise advisory)"
    )


class FieldDefinitionForm(forms.Form):
    """One piece of required information; its rules are checked by fields.validate_definition."""

    label = forms.CharField(max_length=80)
    key = forms.CharField(
        max_length=50,
        required=False,
        help_text="Used by the API and imports. Left empty, it is made from the label.",
    )
    type = forms.ChoiceField(choices=list(FIELD_TYPES.items()), initial="text")
    required = forms.BooleanField(required=False, initial=True)
    help = forms.CharField(max_length=200, required=False)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a choice field: one choice per line.",
    )
    min = forms.CharField(required=False, max_length=30, label="Minimum")
    max = forms.CharField(required=False, max_length=30, label="Maximum")
    max_length = forms.IntegerField(required=False, min_value=1, label="Maximum length")
    pattern = forms.CharField(
        required=False, max_length=200, help_text="Text only: a regular expression to match."
    )

    def __init__(self, *args, taken_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.taken_keys = set(taken_keys)

    @classmethod
    def for_definition(cls, defn, **kwargs):
        initial = {**defn, "choices": "\n".join(defn.get("choices") or [])}
        return cls(initial=initial, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not data.get("key"):
            data["key"] = (data["label"].strip().lower().replace(" ", "_").replace("-", "_"))[:50]
            data["key"] = "".join(c for c in data["key"] if c.isalnum() or c == "_")
        for attr, message in validate_definition(self.definition()).items():
            self.add_error(attr if attr in self.fields else None, message)
        if data.get("key") in self.taken_keys:
            self.add_error("key", "Another field of this protocol already uses this key.")
        return data

    def definition(self):
        data = self.cleaned_data
        defn = {
            "key": data.get("key", ""),
            "label": data.get("label", "").strip(),
            "type": data.get("type"),
            "required": bool(data.get("required")),
        }
        if data.get("help"):
            defn["help"] = data["help"]
        if data.get("type") == "choice":
            defn["choices"] = [c.strip() for c in data.get("choices", "").splitlines() if c.strip()]
        if data.get("type") in ("number", "money"):
            for bound in ("min", "max"):
                if data.get(bound) not in (None, ""):
                    defn[bound] = data[bound].strip()
        if data.get("type") in ("text", "long_text"):
            if data.get("max_length"):
                defn["max_length"] = data["max_length"]
            if data.get("pattern"):
                defn["pattern"] = data["pattern"]
        return defn


class ProtocolSettingsForm(forms.ModelForm):
    acceptance_target = DurationField(
        label="Acceptance target",
        help_text="How long the receiver has to accept or bounce. " + DURATION_HELP,
    )
    escalation_delay = DurationField(
        required=False,
        label="Escalate to the receiving lead after",
        help_text="Empty: twice the acceptance target.",
    )
    recovery_check_delay = DurationField(
        label="Next check after",
        help_text="When a bounced or blocked item is checked again, by default.",
    )

    class Meta:
        model = ProtocolVersion
        fields = [
            "receiving_team",
            "default_assignee",
            "acceptance_target",
            "escalation_delay",
            "recovery_owner",
            "recovery_check_delay",
            "ready_answer",
            "missing_answer",
            "change_note",
        ]
        labels = {
            "receiving_team": "Receiving team",
            "default_assignee": "Default assignee",
            "recovery_owner": "Recovery owner",
            "change_note": "What changed in this version",
        }
        widgets = {
            "ready_answer": forms.Textarea(attrs={"rows": 3}),
            "missing_answer": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("full_name", "email")
        self.fields["default_assignee"].queryset = users
        self.fields["recovery_owner"].queryset = users
        to_stage = self.instance.handoff.to_stage
        if to_stage:
            self.fields["receiving_team"].empty_label = f"The next stage’s team ({to_stage.team})"
        self.fields["default_assignee"].empty_label = "Nobody: the team’s inbox"
        self.fields["recovery_owner"].empty_label = "The sender"

    def clean(self):
        data = super().clean()
        assignee = data.get("default_assignee")
        team = data.get("receiving_team") or getattr(self.instance.handoff.to_stage, "team", None)
        if assignee and team and not team.has_member(assignee):
            self.add_error("default_assignee", f"Pick someone in {team}.")
        return data


# --- Escalation policy (docs/stalls.md, "Escalation policy") ---------------------------------


class PersonField(forms.ModelChoiceField):
    """A user by id, read with the one id parser (`²` is not 2)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_id(value) is None:
            raise forms.ValidationError("Pick a person from the list.")
        return super().to_python(parse_id(value))


class EscalationLevelForm(forms.Form):
    """One level after the owner. A row with no "who" is an unused row."""

    kind = forms.ChoiceField(
        label="Who",
        choices=[("", "— no level —"), *EscalationLevel.Kind.choices],
        required=False,
    )
    person = PersonField(
        label="Named person",
        queryset=get_user_model().objects.filter(is_active=True).order_by("full_name", "email"),
        required=False,
        help_text="Only for “A named person”.",
    )
    delay_hours = forms.DecimalField(
        label="After (working hours)",
        min_value=0,
        max_value=MAX_HOURS,
        decimal_places=2,
        required=False,
        help_text="Working hours after the item stalled, on the owning team's calendar.",
    )
    repeat_hours = forms.DecimalField(
        label="Repeat every (working hours)",
        min_value=Decimal("0.25"),
        max_value=MAX_HOURS,
        decimal_places=2,
        required=False,
        help_text="Blank: told once. Repeats back off 1×, 2×, 4× until the next level.",
    )

    def clean(self):
        data = super().clean()
        kind, person = data.get("kind"), data.get("person")
        if not kind:
            if person or data.get("delay_hours") is not None or data.get("repeat_hours"):
                self.add_error("kind", "Pick who this level tells, or clear the row.")
            return data
        if kind == EscalationLevel.Kind.PERSON and person is None and "person" not in self.errors:
            self.add_error("person", "Pick the person this level tells.")
        if kind != EscalationLevel.Kind.PERSON and person is not None:
            self.add_error("person", "Only a “named person” level names someone.")
        if data.get("delay_hours") is None and "delay_hours" not in self.errors:
            self.add_error("delay_hours", "Say after how many working hours.")
        return data


class BaseEscalationPolicyFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        before = None
        for form in self.forms:
            delay = form.cleaned_data.get("delay_hours")
            if not form.cleaned_data.get("kind"):
                continue
            if before is not None and delay < before:
                form.add_error(
                    "delay_hours", f"Comes before the level above ({before:g} h): order them."
                )
            before = delay

    def levels(self):
        """[{kind, person, delay, repeat_every}] of the filled rows, in order."""
        return [
            {
                "kind": form.cleaned_data["kind"],
                "person": form.cleaned_data.get("person"),
                "delay": from_hours(form.cleaned_data["delay_hours"]),
                "repeat_every": (
                    from_hours(form.cleaned_data["repeat_hours"])
                    if form.cleaned_data.get("repeat_hours")
                    else None
                ),
            }
            for form in self.forms
            if form.cleaned_data.get("kind")
        ]


EscalationPolicyFormSet = forms.formset_factory(
    EscalationLevelForm,
    formset=BaseEscalationPolicyFormSet,
    extra=0,
    max_num=MAX_LEVELS,
    absolute_max=MAX_LEVELS,
    validate_max=True,
)


def escalation_formset(workflow, data=None, levels=None):
    """The policy form: the workflow's levels, then empty rows up to MAX_LEVELS."""
    levels = levels_of(workflow) if levels is None else levels
    initial = [
        {
            "kind": level.kind,
            "person": level.person_id,
            "delay_hours": level.delay_hours,
            "repeat_hours": level.repeat_hours,
        }
        for level in levels
    ]
    initial += [{}] * (MAX_LEVELS - len(initial))
    formset = EscalationPolicyFormSet(data, initial=initial, prefix="level")
    # One query for the people of every row's list, not one per row. `.all()`: iterating the
    # class's own queryset would cache its rows for the life of the process (stale people).
    people = [("", "- Select an option -")] + [
        (user.pk, str(user)) for user in EscalationLevelForm.base_fields["person"].queryset.all()
    ]
    for form in formset.forms:
        form.fields["person"].choices = people
    return formset


def policy_context(workflow, user, formset=None, **extra):
    """The workflow page's policy section: the levels, and the form for those who may edit."""
    can_edit = workflow.can_edit(user)
    levels = levels_of(workflow)
    if can_edit and formset is None:
        formset = escalation_formset(workflow, levels=levels)
    return {
        "workflow": workflow,
        "can_edit": can_edit,
        "escalation_levels": levels,
        "escalation_form": formset if can_edit else None,
        "default_policy": DEFAULT_RULE,
        **extra,
    }
