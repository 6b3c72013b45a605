"""Receipts: report recipients who have not read (or received) a message after a delay."""
