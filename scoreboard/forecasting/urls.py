from django.urls import path

from scoreboard.forecasting import views

urlpatterns = [
    path("scoreboard/workflows/<int:pk>/flow/", views.flow_view, name="flow"),
    path("scoreboard/items/<int:pk>/forecast/", views.item_forecast_view, name="item-forecast"),
    path("scoreboard/workflows/<int:pk>/at-risk/", views.board_risk_view, name="board-risk"),
    path("scoreboard/workflows/<int:pk>/commitment/", views.commitment_set, name="commitment-set"),
]
