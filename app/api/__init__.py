"""The HTTP API: ``create_app(settings)`` builds the FastAPI application."""

from app.api.application import create_app

__all__ = ["create_app"]
