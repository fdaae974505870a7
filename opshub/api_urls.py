"""/api/v1/: one router for every app's resources."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns = router.urls
