from django.apps import AppConfig


class ScoreboardConfig(AppConfig):
    name = "scoreboard"

    def ready(self):
        # Imported here, not at the top: Django loads AppConfigs before any model exists.
        from handoffs.signals import item_page_panels, items_delivered
        from scoreboard import hooks

        items_delivered.connect(hooks.items_delivered, dispatch_uid="scoreboard.items_delivered")
        item_page_panels.connect(hooks.item_page_panels, dispatch_uid="scoreboard.item_page_panels")
