"""Every model of the handoffs app, defined in its area's models.py and re-exported here,
so `from handoffs.models import WorkItem` works everywhere and the app label stays `handoffs`."""

from handoffs.decisions.models import (
    BUILTIN_DECISION_TYPES,
    Decision,
    DecisionLevel,
    DecisionMatrixChange,
    DecisionQuerySet,
    DecisionRight,
    DecisionRole,
    DecisionType,
    DecisionTypeQuerySet,
)
from handoffs.integrations.models import (
    IntakeDelivery,
    IntakeSource,
    WebhookDelivery,
    WebhookSubscription,
)
from handoffs.mail.models import (
    EmailDelivery,
    Notification,
    NotificationQuerySet,
)
from handoffs.scheduler.models import (
    Heartbeat,
)
from handoffs.stalls.models import (
    StallEpisode,
    StallEpisodeQuerySet,
    StallNotice,
)
from handoffs.work.models import (
    Comment,
    Event,
    ImportBatch,
    ImportMapping,
    Recovery,
    RecoveryQuerySet,
    WorkItem,
    WorkItemQuerySet,
    replay,
)
from handoffs.workflows.models import (
    Cause,
    Handoff,
    ProtocolVersion,
    Stage,
    Team,
    TeamQuerySet,
    Workflow,
    WorkflowQuerySet,
    led_team_ids_of,
    team_ids_of,
)

__all__ = [
    "Cause",
    "TeamQuerySet",
    "Team",
    "team_ids_of",
    "led_team_ids_of",
    "WorkflowQuerySet",
    "Workflow",
    "Stage",
    "Handoff",
    "ProtocolVersion",
    "WorkItemQuerySet",
    "WorkItem",
    "Event",
    "replay",
    "RecoveryQuerySet",
    "Recovery",
    "Comment",
    "ImportMapping",
    "ImportBatch",
    "NotificationQuerySet",
    "Notification",
    "EmailDelivery",
    "Heartbeat",
    "DecisionLevel",
    "DecisionRole",
    "BUILTIN_DECISION_TYPES",
    "DecisionTypeQuerySet",
    "DecisionType",
    "DecisionRight",
    "DecisionMatrixChange",
    "DecisionQuerySet",
    "Decision",
    "StallEpisodeQuerySet",
    "StallEpisode",
    "StallNotice",
    "IntakeSource",
    "IntakeDelivery",
    "WebhookSubscription",
    "WebhookDelivery",
]
