from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self):
        # Imported here, not at the top: Django loads AppConfigs before any model exists.
        from handoffs.signals import person_deactivated
        from reviews import hooks

        person_deactivated.connect(
            hooks.person_deactivated, dispatch_uid="reviews.person_deactivated"
        )
