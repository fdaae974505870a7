"""Teams and people without the Django admin: team and membership pages, invitations by email,
deactivation that reassigns open work, and `/api/v1/teams/`, `/api/v1/users/` (docs/teams.md).

It sits above `work` (deactivation reassigns open items and recoveries) and `workflows`
(where the Team model lives)."""
