from django.urls import path

from handoffs.people import calendar_views, channel_views, views

urlpatterns = [
    path("teams/", views.team_list, name="team-list"),
    path("teams/new/", views.team_create, name="team-create"),
    path("teams/<int:pk>/", views.team_detail, name="team-detail"),
    path("teams/<int:pk>/edit/", views.team_update, name="team-edit"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team-delete"),
    path("teams/<int:pk>/members/", views.team_member_add, name="team-member-add"),
    path(
        "teams/<int:pk>/members/<int:user_pk>/remove/",
        views.team_member_remove,
        name="team-member-remove",
    ),
    path("teams/<int:pk>/calendar/", calendar_views.team_calendar, name="team-calendar"),
    path(
        "teams/<int:pk>/calendar/closures/",
        calendar_views.team_closure_add,
        name="team-closure-add",
    ),
    path(
        "teams/<int:pk>/calendar/closures/<int:closure_pk>/remove/",
        calendar_views.team_closure_remove,
        name="team-closure-remove",
    ),
    path("teams/<int:pk>/channels/", channel_views.team_channels, name="team-channels"),
    path("account/channels/", channel_views.my_channels, name="my-channels"),
    path("channels/<int:pk>/delete/", channel_views.channel_delete, name="channel-delete"),
    path("channels/<int:pk>/test/", channel_views.channel_test, name="channel-test"),
    path("people/", views.person_list, name="person-list"),
    path("people/invite/", views.person_invite, name="person-invite"),
    path("people/<int:pk>/", views.person_detail, name="person-detail"),
    path("people/<int:pk>/role/", views.person_set_role, name="person-role"),
    path("people/<int:pk>/resend/", views.invitation_resend, name="person-resend"),
    path("people/<int:pk>/deactivate/", views.person_deactivate, name="person-deactivate"),
    path("people/<int:pk>/reactivate/", views.person_reactivate, name="person-reactivate"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
