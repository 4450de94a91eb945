"""The example app's migrations."""
