"""URLs of work items, the board and the inbox (docs/work-items.md).

Included by handoffs/urls.py under the `handoffs` namespace. Each view bears the name of the
service it calls (`handoff_accept`); the paths and URL names are public and keep theirs
(`item-accept`)."""

from django.urls import path

from handoffs.work import views

urlpatterns = [
    path("work/", views.item_list, name="item-list"),
    path("work/new/", views.work_item_create, name="item-create"),
    path("work/inbox/", views.inbox, name="inbox"),
    path("work/board/", views.item_board, name="item-board"),
    path("work/board/<int:workflow_pk>/", views.item_board, name="item-board-workflow"),
    path("work/<int:pk>/", views.item_detail, name="item-detail"),
    path("work/<int:pk>/handoff/", views.handoff_submit, name="item-handoff"),
    path("work/<int:pk>/accept/", views.handoff_accept, name="item-accept"),
    path("work/<int:pk>/bounce/", views.handoff_bounce, name="item-bounce"),
    path("work/<int:pk>/block/", views.item_block, name="item-block"),
    path("work/<int:pk>/unblock/", views.item_unblock, name="item-unblock"),
    path("work/<int:pk>/deliver/", views.item_deliver, name="item-deliver"),
    path("work/<int:pk>/undo-delivery/", views.item_deliver_undo, name="item-undo-delivery"),
    path("work/<int:pk>/claim/", views.item_claim, name="item-claim"),
    path("work/<int:pk>/cancel/", views.item_cancel, name="item-cancel"),
    path("work/<int:pk>/comment/", views.work_item_comment, name="item-comment"),
    path("work/<int:pk>/edit/", views.work_item_update, name="item-edit"),
]
