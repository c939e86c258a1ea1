"""Proactive invitations: the town writes first, some weeks before a document expires."""
