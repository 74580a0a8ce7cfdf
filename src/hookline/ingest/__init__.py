"""Inbound webhooks: the lean `POST /hooks/{source}` path."""
