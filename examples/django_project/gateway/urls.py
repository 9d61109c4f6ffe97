from __future__ import annotations

from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from gateway import views

urlpatterns = [
    path("v1/chat/completions", views.chat_completions),
    path("v1/messages", views.messages),
    path("v1/responses", views.responses),
    path("notes", views.notes),
    path("headroom/stats", views.stats),
    path("", views.health),
    # For the example only: serve static files with WhiteNoise or the web server in production.
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_DIR}),
]
