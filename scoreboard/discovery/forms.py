from django import forms

from scoreboard.discovery.readers import Columns

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
TEAM_ROWS = 100  # resources offered for mapping, most active first


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Event log",
        help_text="CSV (case_id,activity,timestamp, optionally resource and group) or XES, "
        "plain or .gz. Up to 50 MB; use manage.py discover_map for bigger logs.",
    )
    case_column = forms.CharField(label="Case column", required=False, initial="case_id")
    activity_column = forms.CharField(label="Activity column", required=False, initial="activity")
    timestamp_column = forms.CharField(
        label="Timestamp column", required=False, initial="timestamp"
    )
    resource_column = forms.CharField(label="Resource column", required=False, initial="resource")
    team_column = forms.CharField(
        label="Team column",
        required=False,
        initial="group",
        help_text="The column naming the team of each event, if the export has one.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB; use discover_map.")
        return upload

    def columns(self):
        data = self.cleaned_data
        defaults = Columns()
        return Columns(
            case=data["case_column"].strip() or defaults.case,
            activity=data["activity_column"].strip() or defaults.activity,
            timestamp=data["timestamp_column"].strip() or defaults.timestamp,
            resource=data["resource_column"].strip() or defaults.resource,
            team=data["team_column"].strip() or defaults.team,
        )


class TeamsForm(forms.Form):
    """One text field per resource (the most active first): the team that person is in."""

    def __init__(self, *args, baseline, **kwargs):
        super().__init__(*args, **kwargs)
        self.resources_count = baseline.discovery.get("resources", {})
        self.resources = list(self.resources_count)[:TEAM_ROWS]
        for index, resource in enumerate(self.resources):
            self.fields[f"team_{index}"] = forms.CharField(
                label=resource,
                required=False,
                max_length=100,
                initial=baseline.team_of.get(resource, ""),
            )

    def rows(self):
        return [
            (resource, self.resources_count.get(resource, 0), self[f"team_{i}"])
            for i, resource in enumerate(self.resources)
        ]

    def team_of(self):
        return {r: self.cleaned_data[f"team_{i}"] for i, r in enumerate(self.resources)}
