"""The sample application."""
