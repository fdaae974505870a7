from django import forms

from handoffs.people import permissions as rules
from handoffs.people.services import reassign_candidates
from handoffs.workflows.models import Team
from opshub.accounts.models import User


def _people(queryset):
    return queryset.order_by("full_name", "email")


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    lead = forms.ModelChoiceField(
        queryset=_people(User.objects.filter(is_active=True)),
        required=False,
        empty_label="No lead yet",
        help_text="The lead manages the team's members and receives its escalations.",
    )


class MemberAddForm(forms.Form):
    person = forms.ModelChoiceField(
        queryset=_people(User.objects.filter(deactivated_at=None)),
        label="Person",
        empty_label="Choose a person",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=User.Role.choices)

    def __init__(self, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = rules.roles_for(by)


class InviteForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False, label="Name")
    role = forms.ChoiceField(choices=User.Role.choices, initial=User.Role.MEMBER)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)

    def __init__(self, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = rules.roles_for(by)
        team = self.fields["team"]
        if by.is_admin:
            team.queryset = Team.objects.all()
            team.empty_label = "No team yet"
        else:
            team.queryset = Team.objects.led_by(by)
            team.required = True
            team.empty_label = "Choose one of your teams"


class DeactivateForm(forms.Form):
    reassign_to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Give their open work to",
        empty_label="Nobody: leave it unassigned",
        help_text="Their open items and the recoveries they own go to this person.",
    )

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = _people(reassign_candidates(person))
