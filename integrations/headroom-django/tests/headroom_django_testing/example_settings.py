"""The example project's settings, with the test-only compressor and a small upload limit."""

from __future__ import annotations

from gateway.settings import *  # noqa: F403

import headroom_django_testing.squeeze  # noqa: F401  (registers "test-squeeze")

HEADROOM = {"transforms": ["test-squeeze", "tags"]}
DATA_UPLOAD_MAX_MEMORY_SIZE = 200_000
