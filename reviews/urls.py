from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.review_list, name="review-list"),
    path("current/", views.review_open_current, name="review-current"),
    path("<int:pk>/", views.review_detail, name="review-detail"),
    path("<int:pk>/edit/", views.review_update, name="review-update"),
    path("<int:pk>/entries/", views.agenda_entry_mark, name="entry-mark"),
    path("<int:pk>/actions/", views.action_item_create, name="action-create"),
    path("<int:pk>/close/", views.review_close, name="review-close"),
    path("<int:pk>/projector/", views.review_projector, name="review-projector"),
    path("<int:pk>/links/", views.projector_link_create, name="link-create"),
    path("links/<int:pk>/revoke/", views.projector_link_revoke, name="link-revoke"),
    path("p/<str:token>/", views.projector_public, name="projector-public"),
    path("actions/overdue/", views.action_items_overdue, name="action-overdue"),
    path("actions/<int:pk>/status/", views.action_item_set_status, name="action-status"),
    path("breakages/new/", views.breakage_log, name="breakage-create"),
    path("breakages/<int:pk>/", views.breakage_detail, name="breakage-detail"),
    path("patterns/", views.patterns, name="patterns"),
    path("audit/", views.audit, name="audit"),
]
