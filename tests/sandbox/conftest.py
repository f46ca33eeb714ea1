"""The console's tests use the dashboard's people (an anonymous visitor, an owner, a viewer),
each with their own cookie jar, on the real server."""

from dashboard.conftest import owner, viewer, visitors  # noqa: F401  (fixtures)
