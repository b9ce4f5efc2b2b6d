"""Whether a poll of a `check = "counts"` watch may skip reading the list.

A quiet poll reads the whole list (1 profile request plus one per page) to learn that nothing
changed. The watched account's profile, read first anyway, carries the relation's count: when
it equals the count seen at the last list read, nothing *net* changed, and the poll can stop
there (1 request). The rule errs towards reading, because a skipped read never reports anything
false but can only delay what the count hides:

* Counts are net: a follow plus an unfollow leaves them unchanged. So the list is read at least
  every `full_every`-th poll whatever the count says, and such a pair shows then.
* Counts are read from replicas that lag, and SoundCloud's have shown 0 for everyone: a missing
  count, or a 0 while members are stored, is no evidence of anything, so the list is read.
* A pending absence waits for a later read to be confirmed or refuted (snapshot.py): a watch
  holding one reads the list until it is settled, so counts never stall a confirmation.
* The reference is the last list read, and only if it was complete: an incomplete read may
  have missed what the count already moved for.

A skipped read changes no edge and no pending or hidden state: the poll records itself
(0 pages, its 1 request) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LastListRead:
    """The watch's most recent successful poll that read the list."""

    complete: bool
    # The relation's count as the profile showed it when that poll started (None: not shown,
    # or recorded before counts were kept).
    count: int | None
    # Successful polls since then that read only the profile.
    counts_only_since: int


@dataclass(frozen=True, slots=True)
class StoredState:
    """What the store holds for one watch that the rule weighs."""

    last_read: LastListRead | None
    members: int  # stored edges, in any state
    pending: int  # of them, absences awaiting confirmation


def reason_to_read(count: int | None, stored: StoredState, full_every: int) -> str | None:
    """Why this poll must read the list, or None when the count allows skipping it."""
    last = stored.last_read
    if last is None or not last.complete:
        return "the last list read was not complete"
    if last.counts_only_since + 1 >= full_every:
        return f"every {full_every} polls read the list"
    if stored.pending:
        return "absences await confirmation"
    if count is None or last.count is None:
        return "no count to compare"
    if count == 0 and stored.members:
        return "a count of 0 while members are stored"  # SoundCloud's broken counts
    if count != last.count:
        return f"the count moved ({last.count} -> {count})"
    return None
