"""/api/v1/teams/ and /api/v1/users/ (docs/teams.md): the pages' rules, over JSON.

Reading teams: everyone. Creating, renaming, deleting a team and choosing its lead: admins.
Adding and removing members: admins and the team's lead. Reading people, inviting, setting a
role and deactivating: admins, and leads for the members of their teams (permissions.py)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from handoffs.people import permissions as rules
from handoffs.people import services
from handoffs.workflows.models import Team
from opshub.accounts.models import User

# --- Teams -----------------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "lead", "members"]
        read_only_fields = fields

    def get_members(self, team) -> list[int]:
        return sorted(m.pk for m in team.members.all())


class TeamWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    lead = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )


class MemberSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(deactivated_at=None))


class CanManageTeam(permissions.BasePermission):
    """403 before the body is read: who may change teams, then who may change this team."""

    def has_permission(self, request, view):
        self.message = rules.ADMINS_ONLY
        return view.action != "create" or rules.can_manage_teams(request.user)

    def has_object_permission(self, request, view, team):
        if request.method in permissions.SAFE_METHODS:
            return True
        if view.action in ("add_member", "remove_member"):
            self.message = rules.LEADS_ONLY
            return rules.can_manage_members(request.user, team)
        self.message = rules.ADMINS_ONLY
        return rules.can_manage_teams(request.user)


@extend_schema_view(
    create=extend_schema(request=TeamWriteSerializer, responses=TeamSerializer),
    update=extend_schema(request=TeamWriteSerializer, responses=TeamSerializer),
    partial_update=extend_schema(request=TeamWriteSerializer, responses=TeamSerializer),
)
class TeamViewSet(viewsets.ModelViewSet):
    serializer_class = TeamSerializer
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, CanManageTeam]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        members = Prefetch("members", queryset=User.objects.only("pk"))
        return Team.objects.prefetch_related(members).order_by("name", "pk")

    def _answer(self, team, code=status.HTTP_200_OK):
        return Response(TeamSerializer(self.get_queryset().get(pk=team.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        body = TeamWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team = services.team_create(by=request.user, **body.validated_data)
        return self._answer(team, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        team = self.get_object()
        partial = kwargs.get("partial", False)
        body = TeamWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        values = {"name": team.name, "description": team.description, "lead": team.lead}
        values.update(body.validated_data)
        services.team_update(team=team, by=request.user, **values)
        return self._answer(team)

    def destroy(self, request, *args, **kwargs):
        services.team_delete(team=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=MemberSerializer, responses=TeamSerializer)
    @action(detail=True, methods=["post"], url_path="add-member")
    def add_member(self, request, pk=None):
        team = self.get_object()
        body = MemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.team_member_add(team=team, by=request.user, person=body.validated_data["user"])
        return self._answer(team)

    @extend_schema(request=MemberSerializer, responses=TeamSerializer)
    @action(detail=True, methods=["post"], url_path="remove-member")
    def remove_member(self, request, pk=None):
        team = self.get_object()
        body = MemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.team_member_remove(team=team, by=request.user, person=body.validated_data["user"])
        return self._answer(team)


# --- People ----------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "role",
            "status",
            "teams",
            "invited_at",
            "deactivated_at",
        ]
        read_only_fields = fields

    def get_teams(self, person) -> list[int]:
        return sorted(t.pk for t in person.teams.all())


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=User.Role.choices, default=User.Role.MEMBER)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, default=None
    )


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=User.Role.choices)


class DeactivateSerializer(serializers.Serializer):
    reassign_to = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )


class CanManagePeople(permissions.BasePermission):
    def has_permission(self, request, view):
        self.message = "Only admins and team leads manage people."
        return rules.can_see_people(request.user)

    def has_object_permission(self, request, view, person):
        if request.method in permissions.SAFE_METHODS:
            return True
        if view.action == "reactivate":  # they left their teams: the teams they left count
            self.message = rules.REACTIVATE_ONLY
            return person.deactivated_at is None or rules.can_reactivate(request.user, person)
        self.message = "You cannot change this person: admins, or a lead of one of their teams."
        return rules.can_manage_person(request.user, person)


@extend_schema_view(
    create=extend_schema(request=InviteSerializer, responses=UserSerializer),
    partial_update=extend_schema(request=RoleSerializer, responses=UserSerializer),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """People: `POST` invites (an inactive account and an email with a signed link),
    `PATCH` sets the role, `deactivate` hands their open work on, `reactivate` invites a
    deactivated person back. There is no DELETE: a
    deactivated account keeps the history that names it."""

    serializer_class = UserSerializer
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, CanManagePeople]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        teams = Prefetch("teams", queryset=Team.objects.only("pk"))
        return User.objects.prefetch_related(teams).order_by("email", "pk")

    def _answer(self, person, code=status.HTTP_200_OK):
        return Response(UserSerializer(self.get_queryset().get(pk=person.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        body = InviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        person = services.person_invite(by=request.user, **body.validated_data)
        return self._answer(person, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        person = self.get_object()
        body = RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.person_set_role(person=person, by=request.user, **body.validated_data)
        return self._answer(person)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=DeactivateSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        person = self.get_object()
        body = DeactivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.person_deactivate(person=person, by=request.user, **body.validated_data)
        return self._answer(person)

    @extend_schema(
        request=None,
        responses=UserSerializer,
        description="Brings a deactivated person back: they rejoin the teams they left and "
        "get a new invitation (status `invited` until they set a password through its link). "
        "Work reassigned when they left stays where it went. 400 when the person is not "
        "deactivated; 403 unless you are an admin or lead a team they left.",
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        person = self.get_object()
        services.person_reactivate(person=person, by=request.user)
        return self._answer(person)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=True, methods=["post"], url_path="resend-invitation")
    def resend_invitation(self, request, pk=None):
        person = self.get_object()
        services.invitation_resend(person=person, by=request.user)
        return self._answer(person)
