from django import forms
from django.utils import timezone

from handoffs.models import Handoff, Stage, Workflow, WorkItem
from opshub.accounts.models import User
from opshub.lib.ids import parse_id
from reviews.models import ActionItem, Breakage, ProjectorLink, Review


class BreakageForm(forms.ModelForm):
    item_ids = forms.CharField(
        label="Linked work items",
        required=False,
        help_text="Item numbers separated by commas, e.g. 12, 40.",
    )

    class Meta:
        model = Breakage
        fields = ["title", "workflow", "stage", "handoff", "kind", "system_factor", "description"]
        widgets = {
            "kind": forms.RadioSelect,
            "system_factor": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].queryset = Workflow.objects.order_by("is_sandbox", "name")
        self.fields["stage"].queryset = Stage.objects.select_related("workflow").order_by(
            "workflow__name", "position"
        )
        self.fields["stage"].label_from_instance = lambda s: f"{s.workflow.name} › {s.name}"
        self.fields["handoff"].queryset = Handoff.objects.select_related(
            "workflow", "from_stage"
        ).order_by("workflow__name", "from_stage__position")
        self.fields["handoff"].label_from_instance = lambda h: (
            f"{h.workflow.name} › from {h.from_stage.name}"
        )
        self.fields["kind"].choices = self.fields["kind"].choices[1:]

    def clean_item_ids(self):
        raw = self.cleaned_data["item_ids"]
        parts = [p.strip().lstrip("#") for p in raw.replace(" ", ",").split(",") if p.strip()]
        ids = {parse_id(p) for p in parts}
        if None in ids:
            raise forms.ValidationError("Use item numbers only, separated by commas.")
        items = list(WorkItem.objects.filter(pk__in=ids))
        missing = ids - {i.pk for i in items}
        if missing:
            raise forms.ValidationError(
                f"No work item with number {', '.join(str(m) for m in sorted(missing))}."
            )
        return items


class ActionItemForm(forms.ModelForm):
    breakage = forms.ModelChoiceField(queryset=Breakage.objects.none(), required=False)

    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_date", "handoff", "decision_type", "breakage"]
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"})}
        help_texts = {"title": "One small change that would prevent one repeat."}

    def __init__(self, *args, review=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).exclude(
            role=User.Role.VIEWER
        )
        self.fields["handoff"].queryset = Handoff.objects.select_related(
            "workflow", "from_stage"
        ).order_by("workflow__name", "from_stage__position")
        self.fields["handoff"].label_from_instance = lambda h: (
            f"{h.workflow.name} › from {h.from_stage.name}"
        )
        self.fields["handoff"].label = "Protocol it changes"
        self.fields["decision_type"].label = "Decision right it changes"
        if review is not None:
            self.fields["breakage"].queryset = Breakage.objects.filter(week=review.week)
        self.fields["breakage"].widget = forms.HiddenInput()

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < timezone.localdate():
            raise forms.ValidationError("The due date cannot be in the past.")
        return due


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = ["facilitator", "attendees", "notes"]
        widgets = {
            "attendees": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True).order_by("full_name", "email")
        self.fields["facilitator"].queryset = people.exclude(role=User.Role.VIEWER)
        self.fields["attendees"].queryset = people


class ProjectorLinkForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Works for",
        choices=list(ProjectorLink.LIFETIME_DAYS.items()),
        coerce=int,
        initial=ProjectorLink.DEFAULT_DAYS,
        required=False,
        empty_value=ProjectorLink.DEFAULT_DAYS,
    )
