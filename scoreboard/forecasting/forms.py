import datetime

from django import forms
from django.utils import timezone

from scoreboard.forecasting import live


class ForecastForm(forms.Form):
    items = forms.IntegerField(
        label="When will this many be done?",
        required=False,
        min_value=0,
        max_value=live.MAX_ITEMS,
        help_text="Empty: the workflow's open items.",
    )
    until = forms.DateField(
        label="…or how many by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        until = data.get("until")
        if until and data.get("items") is not None:
            self.add_error("until", "Ask for a number of items or a date, not both.")
        today = timezone.localdate()
        if until and not today < until <= today + datetime.timedelta(live.MAX_DAYS):
            self.add_error("until", f"Pick a day after today and within {live.MAX_DAYS} days.")
        return data


class CommitmentForm(forms.Form):
    stage = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="The request (cycle time = lead time)",
        label="Cycle time starts when an item first enters",
    )

    def __init__(self, *args, workflow, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = workflow.stages.order_by("position")
