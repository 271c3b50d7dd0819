"""Tests for broker links: encryption, services, admin and commands."""
