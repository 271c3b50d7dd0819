"""Tradier under `/tradier`: REST (JSON or XML), the HTTP market stream."""
