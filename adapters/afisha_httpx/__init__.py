"""Webhook delivery with httpx: signed POSTs, no redirects, no private destinations."""

from afisha_httpx.sender import HttpxWebhookSender, is_forbidden_address

__all__ = ["HttpxWebhookSender", "is_forbidden_address"]
