"""Signals (`[[signal]]`): events about what several watches' follows add up to, such as a
target that several watched tastemakers followed within a week (`type = "trending"`).

Kinds are found by name (`registry.py`), like notifier kinds; each declares its config table,
the rule that fires it in a poll's transaction, and its chat message.
"""
