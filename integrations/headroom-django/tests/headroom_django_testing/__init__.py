"""Support code for headroom-django's tests: settings, views, a test-only compressor, a fake LLM provider."""
