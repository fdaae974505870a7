import datetime

from django import forms

from handoffs.models import Workflow
from scoreboard.models import Clock, Metric

MAX_WINDOW = datetime.timedelta(days=10 * 366)


class FilterForm(forms.Form):
    PERIODS = [("quarter", "This quarter"), ("90d", "Last 90 days"), ("custom", "Custom dates")]

    workflow = forms.ModelChoiceField(
        # The target comes along: its clock is part of the board's cache key.
        queryset=Workflow.objects.counted().select_related("scoreboard_target"),
        required=False,
        empty_label="All workflows",
    )
    period = forms.ChoiceField(choices=PERIODS, required=False, initial="quarter")
    since = forms.DateField(
        label="First day", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Last day", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    @property
    def awaits_dates(self):
        """ "Custom dates" just picked, no date typed yet: a question, not a mistake."""
        return (
            self.is_bound
            and self.data.get("period") == "custom"
            and not self.data.get("since")
            and not self.data.get("until")
        )

    def clean(self):
        data = super().clean()
        data["period"] = data.get("period") or "quarter"
        if data["period"] != "custom":
            return data
        since, until = data.get("since"), data.get("until")
        if not since:
            self.add_error("since", "Pick the first day of the window.")
        if not until:
            self.add_error("until", "Pick the last day of the window.")
        if since and until:
            if since > until:
                self.add_error("until", "The last day must be on or after the first day.")
            elif until - since > MAX_WINDOW:
                self.add_error("until", "Keep custom windows under ten years.")
        return data


class TargetForm(forms.Form):
    metric = forms.ChoiceField(choices=Metric.choices, initial=Metric.AVERAGE)
    clock = forms.ChoiceField(
        label="Clock",
        choices=Clock.choices,
        initial=Clock.CALENDAR,
        required=False,  # a form without it (an older page) keeps calendar time
        help_text="Working time counts only the delivering team's working hours; "
        "the other clock is shown beside the headline.",
    )
    target_days = forms.DecimalField(
        label="Target (days)",
        required=False,
        min_value=0.01,
        max_value=3650,
        decimal_places=2,
        help_text="Days of the chosen clock (a day is 24 hours of it). Empty: no target.",
    )

    def clean_clock(self):
        return self.cleaned_data.get("clock") or Clock.CALENDAR


class ImportForm(forms.Form):
    MAX_BYTES = 20 * 1024 * 1024

    workflow = forms.CharField(
        label="New workflow name", max_length=120, help_text="The log becomes this workflow."
    )
    file = forms.FileField(
        label="Event log (CSV)",
        required=False,
        help_text="Columns case_id,activity,timestamp and optionally resource,group. "
        "Timestamps ISO-8601 with their UTC offset. Up to 20 MB; use "
        "`manage.py import_events` for bigger logs.",
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 20 MB; use import_events.")
        return upload
