from __future__ import annotations

from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from headroom_django_testing import views

urlpatterns = [
    path("v1/chat/completions", views.echo),
    path("v1/messages", views.echo),
    path("v1/responses", views.echo),
    path("mounted/llm/v1/chat/completions", views.echo),
    path("async/v1/chat/completions", views.aecho),
    path("relayed/v1/chat/completions", views.relayed),
    path("exempt/v1/chat/completions", views.exempt_echo),
    path("stream/v1/chat/completions", views.stream),
    path("limited/v1/messages", views.handles_too_big),
    path("notes", views.echo),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_DIR}),
]
