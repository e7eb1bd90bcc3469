"""Notifications: the decision's Events, kept in a bounded outbox in status and sent off the tick (Apprise)."""
