"""Forms of the integrations pages: intake sources, webhook subscriptions, spreadsheet imports."""

from django import forms
from django.contrib.auth import get_user_model

from handoffs.integrations import intake, webhooks
from handoffs.integrations.models import IntakeSource, WebhookSubscription
from handoffs.work import imports, sheets
from handoffs.workflows.models import Stage, Workflow
from opshub.lib import netguard

PATH_HELP = "A payload path like deal.name, or a template like {deal.company}: {deal.name}."


class IntakeSourceForm(forms.ModelForm):
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.select_related("workflow", "team").order_by(
            "workflow__name", "position"
        ),
        help_text="Where new items start; its team finds them in its inbox.",
    )
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Who owns new items; empty: the lead of the stage's team.",
    )
    title_path = forms.CharField(label="Title", max_length=200, help_text=PATH_HELP)
    external_ref_path = forms.CharField(
        label="External reference",
        max_length=200,
        required=False,
        help_text="The sender's id for the deal: a second delivery with it creates nothing.",
    )
    requested_at_path = forms.CharField(
        label="Requested at",
        max_length=200,
        required=False,
        help_text="ISO 8601 or Unix seconds; empty: when the webhook arrives.",
    )
    due_date_path = forms.CharField(
        label="Due date",
        max_length=200,
        required=False,
        help_text="An ISO date (2026-12-24) or date-time; empty: no due date.",
    )
    field_paths = forms.CharField(
        label="Protocol fields",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text="One per line: field_key = payload.path (e.g. po_number = deal.po).",
    )

    class Meta:
        model = IntakeSource
        fields = ["name", "slug", "stage", "assignee", "event_id_path", "is_active"]
        help_texts = {
            "slug": "Part of the webhook URL: “crm” gives /api/v1/intake/crm/.",
            "event_id_path": "Used when the sender sends no X-Opshub-Event-Id header.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].label_from_instance = lambda s: f"{s.workflow.name} › {s.name}"
        mapping = self.instance.mapping or {}
        self.initial.setdefault("title_path", mapping.get("title", ""))
        self.initial.setdefault("external_ref_path", mapping.get("external_ref", ""))
        self.initial.setdefault("requested_at_path", mapping.get("requested_at", ""))
        self.initial.setdefault("due_date_path", mapping.get("due_date", ""))
        lines = [f"{key} = {path}" for key, path in (mapping.get("fields") or {}).items()]
        self.initial.setdefault("field_paths", "\n".join(lines))

    def clean_field_paths(self):
        fields = {}
        for number, line in enumerate(self.cleaned_data["field_paths"].splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, path = line.partition("=")
            if not sep or not key.strip() or not path.strip():
                raise forms.ValidationError(f"Line {number}: write field_key = payload.path.")
            fields[key.strip()] = path.strip()
        return fields

    def clean(self):
        data = super().clean()
        stage = data.get("stage")
        if stage is None or self.errors:
            return data
        mapping = {"title": data.get("title_path", "")}
        for target in ("external_ref", "requested_at", "due_date"):
            if data.get(f"{target}_path"):
                mapping[target] = data[f"{target}_path"]
        if data.get("field_paths"):
            mapping["fields"] = data["field_paths"]
        for target, message in intake.validate_mapping(mapping, stage.workflow).items():
            name = {"title": "title_path"}.get(target, "field_paths")
            self.add_error(name, message)
        self.instance.mapping = mapping
        self.instance.workflow = stage.workflow
        return data


class WebhookSubscriptionForm(forms.ModelForm):
    event_kinds = forms.MultipleChoiceField(
        choices=WebhookSubscription.KINDS,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_kinds", "is_active"]
        labels = {"url": "URL", "is_active": "Active"}
        help_texts = {
            "url": "Receives a signed POST per event (https in production).",
            "is_active": "Unticked: paused; events are kept and sent when it is resumed.",
        }

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["is_active"]  # a new subscription starts active

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhooks.check_url(url)
        except netguard.TargetRefused as exc:
            raise forms.ValidationError(str(exc), code="target") from None
        return url


class ImportUploadForm(forms.Form):
    workflow = forms.ModelChoiceField(queryset=Workflow.objects.filter(stages__isnull=False))
    file = forms.FileField(
        help_text="CSV or XLSX, at most 5 MB and 10,000 rows; the first row names the columns."
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["workflow"].queryset = self.fields["workflow"].queryset.distinct()

    def clean_workflow(self):
        workflow = self.cleaned_data["workflow"]
        if not workflow.can_edit(self.user):
            raise forms.ValidationError("Only this workflow's leads and admins import into it.")
        return workflow

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if "workflow" not in self.cleaned_data:
            return upload  # no workflow this user may import into: the file is not read
        if upload.size > sheets.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        content = upload.read()
        try:
            self.sheet = sheets.parse(content, upload.name)
        except sheets.ImportProblem as exc:
            raise forms.ValidationError(str(exc)) from None
        if not self.sheet.rows:
            raise forms.ValidationError("The file has a header but no rows.")
        self.content = content
        return upload


class ImportMappingForm(forms.Form):
    """One select per spreadsheet column: which item attribute it fills (or none)."""

    def __init__(self, *args, headers, workflow, initial_mapping, date_order, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", "— skip this column —"), *imports.targets(workflow)]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=initial_mapping.get(header, ""),
            )
        self.fields["date_order"] = forms.ChoiceField(
            label="Date order",
            choices=imports.DateOrder.choices,
            initial=date_order,
            required=False,
            help_text="How a date such as 05/01/2026 reads. YYYY-MM-DD and the workbook's "
            "own date cells read the same in every order.",
        )

    def date_order(self):
        """The chosen order; the remembered one when none was sent."""
        if self.is_bound and self.is_valid() and self.cleaned_data["date_order"]:
            return self.cleaned_data["date_order"]
        return self.fields["date_order"].initial

    def mapping(self):
        return {
            header: self.cleaned_data.get(f"col_{index}", "")
            for index, header in enumerate(self.headers)
        }

    def initial_mapping(self):
        return {
            header: self.fields[f"col_{index}"].initial for index, header in enumerate(self.headers)
        }
