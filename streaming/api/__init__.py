"""The JSON API as scripts see it: its description (openapi.yaml, served at /api/schema),
its error bodies, and JSON for the errors no view writes (docs/streaming-contract.md, "The
JSON API: its description, and its errors")."""
