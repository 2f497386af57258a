"""The HTTP front door: routes, request models and error bodies."""
