"""Forms for decision rights: recording a decision, the matrix's types and cells."""

from django import forms

from handoffs.decisions import rules as rights
from handoffs.decisions.models import Decision, DecisionLevel, DecisionRight, DecisionType
from handoffs.workflows.models import Team
from opshub.accounts.models import User

# The caller of DecisionForm did not look up the next handoff's protocol.
LOOK_UP = object()


class DecisionForm(forms.Form):
    decision_type = forms.TypedChoiceField(label="Decision", coerce=int)
    summary = forms.CharField(
        label="What did you decide?",
        max_length=300,
        help_text="One line the team will read in the history, e.g. “8% discount for ACME”.",
    )
    why = forms.CharField(
        label="Why",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The reason, so whoever reads it later understands.",
    )
    checklist = forms.MultipleChoiceField(
        label="Checklist items to override for the next handoff",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    due_date = forms.DateField(
        label="New due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, item, user, next_version=LOOK_UP, **kwargs):
        """`next_version`: the published protocol of the item's next handoff (None at the
        last stage), when the caller has it already; looked up otherwise."""
        super().__init__(*args, **kwargs)
        self.item, self.user, self.next_version = item, user, next_version
        self.options = rights.options_for(user, item)
        self.fields["decision_type"].choices = [
            (t.pk, f"{t.name} · {cell.level}") for t, cell in self.options
        ]
        self.selected_type, self.selected_cell = self._selected()
        key = self.selected_type.key if self.selected_type else ""
        if key == rights.OVERRIDE_CHECKLIST:
            self.fields["checklist"].choices = self._checklist_choices()
            self.fields["checklist"].required = True
        else:
            del self.fields["checklist"]
        if key == rights.CHANGE_DUE_DATE:
            self.fields["due_date"].required = True
            self.fields["due_date"].initial = item.due_date
        else:
            del self.fields["due_date"]

    def _selected(self):
        raw = self.data.get("decision_type") if self.is_bound else None
        raw = raw or self.initial.get("decision_type")
        for decision_type, cell in self.options:
            if str(decision_type.pk) == str(raw):
                return decision_type, cell
        return self.options[0] if self.options else (None, None)

    def _checklist_choices(self):
        version = self.next_version
        if version is LOOK_UP:
            handoff = self.item.stage.outgoing_handoff()
            version = handoff.published() if handoff else None
        if version is None:
            return []
        required = set(version.required_checklist_ids())
        return [(c["id"], c["text"]) for c in version.checklist if c["id"] in required]

    @property
    def consequence(self):
        """What will happen, in words, for the selected type at the user's level."""
        cell = self.selected_cell
        if cell is None:
            return ""
        if cell.level == DecisionLevel.GREEN:
            return "Green: you decide and move on. It is recorded in the history."
        if cell.level == DecisionLevel.YELLOW:
            people = rights.people_to_inform(cell.right, self.item, self.user)
            names = ", ".join(str(p) for p in people) or "nobody"
            return f"Yellow: you decide, then {names} will be informed."
        approver = rights.approver_for(cell.right, self.item, self.user)
        return (
            f"Red: the item pauses until {approver or 'an admin'} approves or denies. "
            "You will be told the answer."
        )

    def payload(self):
        data = self.cleaned_data
        if "checklist" in self.fields:
            return {"checklist": data["checklist"]}
        if "due_date" in self.fields:
            return {"due_date": data["due_date"].isoformat()}
        return {}

    def decision_type_obj(self):
        return next(t for t, _ in self.options if t.pk == self.cleaned_data["decision_type"])


class DecisionAnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    comment = forms.CharField(
        label="Comment", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionTypeForm(forms.ModelForm):
    class Meta:
        model = DecisionType
        fields = ["name", "good_looks_like", "default_level"]
        labels = {"default_level": "Level for everyone without a setting"}
        help_texts = {
            "good_looks_like": "What a good decision of this type looks like, in two or three "
            "sentences: the guide people read before they decide."
        }
        widgets = {"good_looks_like": forms.Textarea(attrs={"rows": 3})}


class DecisionRightForm(forms.ModelForm):
    class Meta:
        model = DecisionRight
        fields = ["level", "inform_users", "inform_team", "approver", "approver_team"]
        labels = {
            "inform_users": "Yellow: people to inform",
            "inform_team": "Yellow: team to inform",
            "approver": "Red: approver",
            "approver_team": "Red: or the lead of this team",
        }
        help_texts = {
            "inform_users": "Nobody named: the lead of the team doing the work is informed.",
        }
        widgets = {"inform_users": forms.SelectMultiple(attrs={"size": 6})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True).exclude(role=User.Role.VIEWER)
        self.fields["inform_users"].queryset = people
        self.fields["approver"].queryset = people
        self.fields["inform_team"].queryset = Team.objects.all()
        self.fields["approver_team"].queryset = Team.objects.all()


class DecisionLogFilter(forms.Form):
    decision_type = forms.ModelChoiceField(
        queryset=DecisionType.objects.none(), required=False, empty_label="Any type", label="Type"
    )
    level = forms.ChoiceField(
        choices=[("", "Any level"), *DecisionLevel.choices], required=False, label="Level"
    )
    status = forms.ChoiceField(
        choices=[("", "Any outcome"), *Decision.Status.choices], required=False, label="Outcome"
    )
    requester = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Anyone", label="Decided by"
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, workflow, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision_type"].queryset = DecisionType.objects.for_workflow(workflow)
        self.fields["requester"].queryset = User.objects.filter(
            decisions_made__item__workflow=workflow
        ).distinct()

    def apply(self, decisions):
        if not self.is_bound or not self.is_valid():
            return decisions
        data = self.cleaned_data
        if data["decision_type"]:
            decisions = decisions.filter(decision_type=data["decision_type"])
        if data["level"]:
            decisions = decisions.filter(level=data["level"])
        if data["status"]:
            decisions = decisions.filter(status=data["status"])
        if data["requester"]:
            decisions = decisions.filter(requester=data["requester"])
        if data["since"]:
            decisions = decisions.filter(requested_at__date__gte=data["since"])
        if data["until"]:
            decisions = decisions.filter(requested_at__date__lte=data["until"])
        return decisions
