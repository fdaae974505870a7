def shell(request):
    """What the base layout needs on every page: the unread notification count."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from handoffs.models import Notification

    return {"unread_notifications": Notification.objects.unread_count_for(user)}
