"""API routers, one per capability."""
