"""The handoffs app's pages: each area's urlpatterns, concatenated under one namespace so every
URL name (`handoffs:item-detail`, …) stays what it was."""

from handoffs.decisions.urls import urlpatterns as decision_urls
from handoffs.integrations.urls import urlpatterns as integration_urls
from handoffs.map.urls import urlpatterns as map_urls
from handoffs.people.urls import urlpatterns as people_urls
from handoffs.stalls.urls import urlpatterns as stall_urls
from handoffs.work.urls import urlpatterns as work_urls
from handoffs.workflows.urls import urlpatterns as workflow_urls
from opshub.mail.urls import urlpatterns as mail_urls

app_name = "handoffs"

urlpatterns = [
    *work_urls,
    *workflow_urls,
    *decision_urls,
    *stall_urls,
    *map_urls,
    *integration_urls,
    *mail_urls,
    *people_urls,
]
