from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self):
        return "".join(self.cleaned_data["code"].replace("-", " ").split()).lower()


class TotpCodeForm(CodeForm):
    """At setup only the app's code makes sense: recovery codes do not exist yet."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        code = self.fields["code"]
        code.label = "Code from the app"
        code.help_text = "The 6 digits the app shows for opshub now."
        code.widget.attrs["inputmode"] = "numeric"
