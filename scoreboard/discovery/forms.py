from django import forms

from scoreboard.discovery.counting import stage_targets
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


class WorkflowForm(forms.Form):
    """The discovered path to draft: which activities become stages, and each one's team."""

    name = forms.CharField(label="Workflow name", max_length=120)

    def __init__(self, *args, baseline, teams, **kwargs):
        super().__init__(*args, **kwargs)
        found = baseline.discovery
        path = found.get("main_path", [])
        others = [a["name"] for a in found.get("activities", ()) if a["name"] not in path]
        self.activities = path + others
        self.teams = list(teams)
        by_name = {team.name.lower(): team for team in self.teams}
        discovered = {a["name"]: a["team"] for a in found.get("activities", ())}
        choices = [("", "Pick a team")] + [(str(team.pk), team.name) for team in self.teams]
        for index, activity in enumerate(self.activities):
            guess = by_name.get(discovered.get(activity, "").lower())
            self.fields[f"use_{index}"] = forms.BooleanField(
                label=activity, required=False, initial=activity in path
            )
            self.fields[f"team_{index}"] = forms.ChoiceField(
                label=f"Team owning “{activity}”",
                choices=choices,
                required=False,
                initial=str(guess.pk) if guess else "",
            )
        self.fields["name"].initial = baseline.name.rsplit(".", 2)[0][:120]
        self.targets = stage_targets(found, path) if found.get("dfg") else {}

    def rows(self):
        return [
            (activity, self[f"use_{i}"], self[f"team_{i}"], self.targets.get(activity))
            for i, activity in enumerate(self.activities)
        ]

    def stages(self):
        """[(activity, Team or None)] of the ticked activities, in the form's order."""
        by_pk = {str(team.pk): team for team in self.teams}
        return [
            (activity, by_pk.get(self.cleaned_data[f"team_{i}"]))
            for i, activity in enumerate(self.activities)
            if self.cleaned_data[f"use_{i}"]
        ]
