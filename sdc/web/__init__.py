"""Web layer: one blueprint per screen family, request hooks, htmx helpers, error pages."""
