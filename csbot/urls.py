"""Top-level URL map; each app owns its own paths."""

from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django_prometheus.exports import ExportToDjangoView
from graphene_django.views import GraphQLView

from csbot import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", ExportToDjangoView, name="metrics"),
    # Read-only queries; ownership is enforced in the resolvers, not by CSRF.
    path("graphql/", csrf_exempt(GraphQLView.as_view(graphiql=True)), name="graphql"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("conversations.urls")),
    path("", include("catalog.urls")),
    path("", include("handoff.urls")),
    path("", include("privacy.urls")),
    path("", include("ops.urls")),
    path("", include("vision.urls")),
]
