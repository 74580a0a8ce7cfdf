"""The management API (`/api/...`): events, deliveries, attempts and replay."""
