"""seed_demo step: the scoreboard's snapshot and a quarter target, so `/` has numbers at once."""

from opshub.accounts.models import User
from scoreboard.models import DeliveredItemFact
from scoreboard.services import quarter_target_set, snapshot_rebuild


def seed_scoreboard(ctx):
    snapshot_rebuild()
    workflow = ctx.get("workflows", {}).get("Order to delivery")
    if workflow is None:
        return
    # A target a little better than what the team does today: a goal, not a given.
    stats = DeliveredItemFact.objects.filter(workflow=workflow).summary()
    if stats["average"]:
        target_days = round(stats["average"] * 0.85 / 86400, 1)
        admin = User.objects.get(email="admin@example.com")
        quarter_target_set(
            workflow=workflow, by=admin, metric="average", target_days=max(target_days, 0.5)
        )
