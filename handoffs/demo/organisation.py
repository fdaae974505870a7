"""Demo organisation for seed_demo: people, teams, workflows and their protocols."""

import datetime

from django.utils import timezone

from handoffs.workflows import services as wf
from handoffs.workflows.models import Handoff, ProtocolVersion, Team, TeamCalendar, Workflow
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


# Who picks up a handoff into each team by default: its first member (the lead in a team of one).
DEFAULT_ASSIGNEE = {name: (members[0] if members else lead)[0] for name, lead, members in TEAMS}


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


# Where each team works, for `seed_demo --calendars` (docs/calendars.md): a time zone, its
# Monday–Friday hours and its country's public holidays, spread over three continents' worth
# of zones so a scan always has teams inside and outside their working day.
CALENDARS = {
    "Sales": ("America/New_York", "US", "NY", datetime.time(9), datetime.time(17)),
    "Finance": ("Europe/Berlin", "DE", "BE", datetime.time(8), datetime.time(16)),
    "Fulfilment": ("Europe/Berlin", "DE", "BY", datetime.time(7), datetime.time(15, 30)),
    "Support": ("Europe/London", "GB", "ENG", datetime.time(8), datetime.time(18)),
    "Customer Success": ("Europe/Paris", "FR", "", datetime.time(9), datetime.time(17)),
    "Legal": ("Europe/Berlin", "DE", "BE", datetime.time(9), datetime.time(17)),
    "Content": ("Europe/Amsterdam", "NL", "", datetime.time(9), datetime.time(17, 30)),
}


def seed_calendars(ctx):
    """A working calendar on every team, when asked (`--calendars`; `make bench` does):
    without one a team counts calendar time, which the demo's story keeps by default."""
    if not ctx.get("calendars"):
        return
    for name, team in ctx["teams"].items():
        zone, country, subdivision, start, end = CALENDARS[name]
        calendar = TeamCalendar(
            team=team,
            time_zone=zone,
            country=country,
            subdivision=subdivision,
            day_start=start,
            day_end=end,
        )
        calendar.full_clean()
        calendar.save()


# --- Workflows and their protocols ------------------------------------------------------------

H, D = datetime.timedelta(hours=1), datetime.timedelta(days=1)


def _c(ident, text, help="", required=True):
    return {"id": ident, "text": text, "help": help, "required": required}


def _f(key, label, type, required=True, **rules):
    return {"key": key, "label": label, "type": type, "required": required, **rules}


# (name, description, is_sandbox, stages: [(name, team, kind, target)],
#  protocols: {from stage name: [version, ...]}, oldest version first)
WORKFLOWS = [
    (
        "Order to delivery",
        "From a closed deal to goods delivered and the customer confirming they work.",
        False,
        [
            ("Deal closed", "Sales", "active", 1 * D),
            ("Credit check & invoice", "Finance", "active", 1 * D),
            ("Ready to ship", "Fulfilment", "queue", 8 * H),
            ("Pick, pack & ship", "Fulfilment", "active", 2 * D),
            ("Delivery follow-up", "Support", "active", 3 * D),
        ],
        {
            "Deal closed": [
                {
                    "note": "First version, written after the March billing mix-ups.",
                    "checklist": [
                        _c(
                            "contract_signed",
                            "Contract signed by the customer",
                            "The countersigned PDF is attached to the deal in the CRM.",
                        ),
                        _c(
                            "billing_contact",
                            "Billing contact named",
                            "A person with an email address, not accounts@ alone.",
                        ),
                    ],
                    "fields": [
                        _f("po_number", "Customer PO number", "text", max_length=40),
                        _f("order_value", "Order value (EUR, excl. VAT)", "money", min="0"),
                    ],
                    "acceptance_target": 8 * H,
                },
                {
                    "note": "VAT id and payment terms added: three orders were invoiced wrongly.",
                    "checklist": [
                        _c(
                            "contract_signed",
                            "Contract signed by the customer",
                            "The countersigned PDF is attached to the deal in the CRM.",
                        ),
                        _c(
                            "billing_contact",
                            "Billing contact named",
                            "A person with an email address, not accounts@ alone.",
                        ),
                        _c(
                            "terms_agreed",
                            "Payment terms agreed in writing",
                            "Standard is 30 days net; anything else needs Finance's yes first.",
                        ),
                    ],
                    "fields": [
                        _f("po_number", "Customer PO number", "text", max_length=40),
                        _f("order_value", "Order value (EUR, excl. VAT)", "money", min="0"),
                        _f(
                            "vat_id",
                            "Customer VAT id",
                            "text",
                            pattern=r"^[A-Z]{2}[0-9A-Z]{2,12}$",
                            help="Two-letter country code, then the number, no spaces.",
                        ),
                        _f(
                            "payment_terms",
                            "Payment terms",
                            "choice",
                            choices=["30 days net", "14 days net", "Prepayment"],
                        ),
                    ],
                    "acceptance_target": 4 * H,
                },
                {
                    "note": "Delivery address moved here from the Fulfilment handoff.",
                    "checklist": [
                        _c(
                            "contract_signed",
                            "Contract signed by the customer",
                            "The countersigned PDF is attached to the deal in the CRM.",
                        ),
                        _c(
                            "billing_contact",
                            "Billing contact named",
                            "A person with an email address, not accounts@ alone.",
                        ),
                        _c(
                            "terms_agreed",
                            "Payment terms agreed in writing",
                            "Standard is 30 days net; anything else needs Finance's yes first.",
                        ),
                        _c(
                            "address_confirmed",
                            "Delivery address confirmed with the customer",
                            "Including a contact on site and opening hours.",
                            required=False,
                        ),
                    ],
                    "fields": [
                        _f("po_number", "Customer PO number", "text", max_length=40),
                        _f("order_value", "Order value (EUR, excl. VAT)", "money", min="0"),
                        _f(
                            "vat_id",
                            "Customer VAT id",
                            "text",
                            pattern=r"^[A-Z]{2}[0-9A-Z]{2,12}$",
                            help="Two-letter country code, then the number, no spaces.",
                        ),
                        _f(
                            "payment_terms",
                            "Payment terms",
                            "choice",
                            choices=["30 days net", "14 days net", "Prepayment"],
                        ),
                        _f("delivery_address", "Delivery address", "long_text"),
                    ],
                    "acceptance_target": 4 * H,
                },
            ],
            "Credit check & invoice": [
                {
                    "note": "Fulfilment only starts on a cleared order.",
                    "checklist": [
                        _c(
                            "credit_ok",
                            "Credit check passed or prepayment received",
                            "Limit check in the finance system; over the limit goes to the lead.",
                        ),
                        _c(
                            "invoice_sent",
                            "Invoice (or prepayment request) sent",
                            "The invoice number goes in the field below.",
                        ),
                    ],
                    "fields": [
                        _f("invoice_number", "Invoice number", "text", pattern=r"^INV-\d+$"),
                        _f("ship_by", "Promised ship-by date", "date"),
                    ],
                    "acceptance_target": 4 * H,
                },
            ],
            "Ready to ship": [
                {
                    "note": "Picking starts only with stock reserved.",
                    "checklist": [
                        _c(
                            "stock_reserved",
                            "Stock reserved for every line",
                            "Back-ordered lines are split into a second order first.",
                        ),
                    ],
                    "fields": [
                        _f("warehouse", "Warehouse", "choice", choices=["Leipzig", "Rotterdam"])
                    ],
                    "acceptance_target": 2 * H,
                },
            ],
            "Pick, pack & ship": [
                {
                    "note": "Support needs the tracking link to answer 'where is my order'.",
                    "checklist": [
                        _c(
                            "shipped",
                            "Handed to the carrier",
                            "Scan confirmed in the carrier portal.",
                        ),
                        _c("customer_told", "Customer sent the shipping email with tracking"),
                    ],
                    "fields": [
                        _f("tracking_url", "Tracking link", "url"),
                        _f("carrier", "Carrier", "choice", choices=["DHL", "UPS", "DB Schenker"]),
                        _f("parcels", "Number of parcels", "number", min="1", required=False),
                    ],
                    "acceptance_target": 1 * D,
                },
            ],
        },
    ),
    (
        "Client onboarding",
        "A signed client becomes a live, configured account that Support can look after.",
        False,
        [
            ("Contract signed", "Sales", "active", 1 * D),
            ("Contract review", "Legal", "active", 2 * D),
            ("Kickoff", "Customer Success", "active", 3 * D),
            ("Configuration", "Customer Success", "active", 5 * D),
            ("Live and handed to Support", "Support", "active", 2 * D),
        ],
        {
            "Contract signed": [
                {
                    "note": "Legal sees every non-standard clause before kickoff.",
                    "checklist": [
                        _c("final_pdf", "Final signed contract attached"),
                        _c(
                            "redlines",
                            "Non-standard clauses listed",
                            "Write 'none' when the contract is our template unchanged.",
                        ),
                    ],
                    "fields": [
                        _f("client_name", "Client legal name", "text"),
                        _f("deviations", "Non-standard clauses", "long_text"),
                        _f("go_live", "Go-live date promised", "date"),
                    ],
                    "acceptance_target": 1 * D,
                },
                {
                    "note": "Data-processing agreement is now a hard requirement.",
                    "checklist": [
                        _c("final_pdf", "Final signed contract attached"),
                        _c(
                            "redlines",
                            "Non-standard clauses listed",
                            "Write 'none' when the contract is our template unchanged.",
                        ),
                        _c("dpa_signed", "Data-processing agreement signed"),
                    ],
                    "fields": [
                        _f("client_name", "Client legal name", "text"),
                        _f("deviations", "Non-standard clauses", "long_text"),
                        _f("go_live", "Go-live date promised", "date"),
                    ],
                    "acceptance_target": 1 * D,
                },
            ],
            "Contract review": [
                {
                    "note": "Customer Success needs the promises, not the legalese.",
                    "checklist": [
                        _c("reviewed", "Clauses reviewed and approved or renegotiated"),
                        _c("obligations", "Our obligations summarised in plain words"),
                    ],
                    "fields": [
                        _f("obligations_summary", "What we promised, in plain words", "long_text"),
                        _f(
                            "sla_tier",
                            "Support tier",
                            "choice",
                            choices=["Standard", "Priority", "Enterprise"],
                        ),
                    ],
                    "acceptance_target": 1 * D,
                },
            ],
            "Kickoff": [
                {
                    "note": "Kickoff notes travel with the work.",
                    "checklist": [
                        _c("kickoff_held", "Kickoff call held with the client"),
                        _c("admins_named", "Client admins named", required=False),
                    ],
                    "fields": [_f("kickoff_notes", "Kickoff notes", "url")],
                    "acceptance_target": 4 * H,
                },
            ],
            "Configuration": [
                {
                    "note": "Support takes over only a tested account.",
                    "checklist": [
                        _c("smoke_test", "Smoke test passed with a client user"),
                        _c(
                            "runbook",
                            "Account runbook written",
                            "Quirks, integrations, who to call at the client.",
                        ),
                    ],
                    "fields": [
                        _f("runbook_url", "Runbook link", "url"),
                        _f("client_admin", "Client admin email", "email"),
                    ],
                    "acceptance_target": 1 * D,
                },
            ],
        },
    ),
    (
        "Content production",
        "Case studies and product articles, from request to published page.",
        False,
        [
            ("Request", "Sales", "active", 2 * D),
            ("Writing", "Content", "active", 5 * D),
            ("Claims review", "Legal", "queue", 2 * D),
            ("Design & publish", "Content", "active", 3 * D),
        ],
        {
            "Request": [
                {
                    "note": "Content starts with a customer who said yes.",
                    "checklist": [
                        _c(
                            "customer_ok",
                            "Customer agreed to be featured",
                            "In writing; a reply to our email is enough.",
                        ),
                        _c("contact", "Customer contact for the interview named"),
                    ],
                    "fields": [
                        _f("customer", "Customer", "text"),
                        _f("angle", "The story in one sentence", "text", max_length=200),
                        _f("contact_email", "Interview contact email", "email"),
                    ],
                    "acceptance_target": 1 * D,
                },
            ],
            "Writing": [
                {
                    "note": "Legal reviews numbers and claims only.",
                    "checklist": [
                        _c("numbers_sourced", "Every number has a source", "Link it in the draft."),
                        _c("customer_approved", "Customer approved the quotes"),
                    ],
                    "fields": [_f("draft_url", "Draft link", "url")],
                    "acceptance_target": 1 * D,
                },
            ],
            "Claims review": [
                {
                    "note": "Design starts from the approved text.",
                    "checklist": [_c("claims_ok", "Claims approved or rewritten")],
                    "fields": [_f("approved_url", "Approved text link", "url")],
                    "acceptance_target": 4 * H,
                },
            ],
        },
    ),
    (
        "Practice: returns handling",
        "A sandbox to practise handoffs and bounces without touching the scoreboard.",
        True,
        [
            ("Return requested", "Support", "active", 1 * D),
            ("Goods received", "Fulfilment", "active", 2 * D),
            ("Refund", "Finance", "active", 2 * D),
        ],
        {
            "Return requested": [
                {
                    "note": "Practice protocol.",
                    "checklist": [_c("rma", "Return number issued to the customer")],
                    "fields": [_f("rma_number", "Return number", "text", pattern=r"^RMA-\d+$")],
                    "acceptance_target": 1 * D,
                },
            ],
            "Goods received": [
                {
                    "note": "Practice protocol.",
                    "checklist": [_c("inspected", "Goods inspected and condition noted")],
                    "fields": [
                        _f(
                            "condition",
                            "Condition",
                            "choice",
                            choices=["As new", "Damaged", "Missing parts"],
                        )
                    ],
                    "acceptance_target": 1 * D,
                },
            ],
        },
    ),
]

READY = (
    "Every required checklist item is ticked and every required field is filled; "
    "{team} can start without asking a single question."
)
MISSING = (
    "{team} bounces it within the acceptance target, naming exactly what is missing. "
    "The work stops, the sender owns the missing input and the next check is set; "
    "nobody works around the gap."
)


def seed_workflows(ctx):
    """The demo's workflows, with published protocols and a little version history."""
    teams, days = ctx["teams"], ctx["days"]
    now = timezone.now()
    workflows = {}
    for name, description, is_sandbox, stages, protocols in WORKFLOWS:
        first_lead = teams[stages[0][1]].lead
        workflow = Workflow.objects.create(
            name=name,
            description=description,
            is_sandbox=is_sandbox,
            created_by=first_lead,
            created_at=now - datetime.timedelta(days=days + 30),
        )
        for stage_name, team, kind, target in stages:
            wf.stage_add(
                workflow=workflow,
                by=first_lead,
                name=stage_name,
                team=teams[team],
                kind=kind,
                target=target,
            )
        for handoff in wf.link_stages(
            wf.with_structure(Workflow.objects.filter(pk=workflow.pk)).get()
        ):
            versions = protocols.get(handoff.from_stage.name, [])
            receiving = handoff.to_stage.team
            assignee = User.objects.get(email=DEFAULT_ASSIGNEE[receiving.name])
            for number, spec in enumerate(versions, start=1):
                published_at = now - datetime.timedelta(
                    days=days + 20 - (number - 1) * days // max(len(versions), 1)
                )
                ProtocolVersion.objects.create(
                    handoff=handoff,
                    number=number,
                    status=ProtocolVersion.Status.PUBLISHED,
                    checklist=spec["checklist"],
                    fields=spec["fields"],
                    receiving_team=receiving,
                    default_assignee=assignee,
                    acceptance_target=spec["acceptance_target"],
                    ready_answer=READY.format(team=receiving),
                    missing_answer=MISSING.format(team=receiving),
                    change_note=spec["note"],
                    created_by=handoff.from_stage.team.lead,
                    created_at=published_at - 2 * D,
                    updated_at=published_at - D,
                    published_by=handoff.from_stage.team.lead,
                    published_at=published_at,
                )
        workflows[name] = workflow
    # A draft in progress, so the editor has something to show.
    deal = Handoff.objects.get(workflow=workflows["Order to delivery"], from_stage__position=1)
    draft = wf.protocol_draft(handoff=deal, by=teams["Sales"].lead)
    wf.checklist_save(
        version=draft,
        by=teams["Sales"].lead,
        text="Customer's goods-receipt process known",
        help="Some customers only accept deliveries against a booked slot.",
        required=False,
    )
    ctx["workflows"] = workflows
