"""What the base layout needs on every page from the handoffs app."""

from handoffs.mail.models import Notification


def unread_notifications(request):
    """The unread notification count beside the bell in the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": Notification.objects.unread_count_for(user)}
