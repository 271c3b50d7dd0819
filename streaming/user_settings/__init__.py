"""A user's own settings over HTTP: their API tokens, display preferences and notification
settings (the work is `accounts`': tokens.py, display_preferences.py,
notification_settings.py)."""
