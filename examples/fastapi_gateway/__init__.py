"""An LLM gateway built with FastAPI and Headroom (see app.py), and a local fake provider (upstream.py)."""
