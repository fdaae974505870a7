"""Demo organisation for seed_demo: people, teams, workflows and their protocols."""

from handoffs.models import Team
from opshub.accounts.models import User

# (team, lead, members) — emails are stable; the three in DESIGN.md come first.
TEAMS = [
    (
        "Sales",
        ("sales.lead@example.com", "Sofia Marsh"),
        [("seller@example.com", "Sam Okafor"), ("ana.sales@example.com", "Ana Ruiz")],
    ),
    (
        "Finance",
        ("finance.lead@example.com", "Farid Haddad"),
        [("billing@example.com", "Beth Nolan")],
    ),
    (
        "Fulfilment",
        ("lead@example.com", "Lena Fischer"),
        [("member@example.com", "Milo Tan"), ("warehouse@example.com", "Wes Brooks")],
    ),
    ("Support", ("support.lead@example.com", "Priya Raman"), [("agent@example.com", "Alex Kim")]),
    (
        "Customer Success",
        ("cs.lead@example.com", "Chloe Dubois"),
        [("onboarding@example.com", "Omar Said")],
    ),
    ("Legal", ("legal.lead@example.com", "Grace Liu"), []),
    (
        "Content",
        ("content.lead@example.com", "Noah Berg"),
        [("writer@example.com", "Wendy Park"), ("designer@example.com", "Dev Patel")],
    ),
]


def seed_org(ctx):
    password = ctx["password"]
    User.objects.create_superuser(
        "admin@example.com", password, full_name="Ada Admin", role=User.Role.ADMIN
    )
    User.objects.create_user(
        "viewer@example.com", password, full_name="Victor Viewer", role=User.Role.VIEWER
    )
    teams = {}
    for name, (lead_email, lead_name), members in TEAMS:
        lead = User.objects.create_user(
            lead_email, password, full_name=lead_name, role=User.Role.LEAD
        )
        team = Team.objects.create(name=name, lead=lead)
        team.members.add(lead)
        for email, full_name in members:
            team.members.add(
                User.objects.create_user(
                    email, password, full_name=full_name, role=User.Role.MEMBER
                )
            )
        teams[name] = team
    ctx["teams"] = teams


def seed_workflows(ctx):
    """Workflows with published protocols: filled in by the workflows issue."""
