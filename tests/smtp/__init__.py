"""Tests of the SMTP and .eml mailers against real SMTP servers started by fixtures."""
