"""Decide what really changed between the stored list and what this poll read.

Rules (the README's "How snapshots stay honest" explains them to users):

* Presence is proof: an account in any pass of the poll is followed, so a new one is an
  addition at once.
* Absence is never proved by one pass. A replica answering a short page, or the list
  changing while it is read (an unfollow above the page being read shifts every later entry
  up, so one is skipped without any repeat, even when a follow at the same time keeps the
  count unchanged), both make a pass lack accounts that are still followed. So absence is
  believed only when three reads taken at different moments agree: the account is missing
  from a complete pass of one poll (it is marked pending), then, in a later poll at least
  `confirm_after` after that one, from its first pass and from a second, verifying pass read
  right after it whose end is confirmed by more answers. Replicas that lag behind by less
  than `confirm_after` can therefore never turn an unfollow they have not seen yet into a false
  re-follow, nor a follow into a false removal.
* A confirmed absence is an unfollow only if the account's own profile shows it is active:
  a deactivated or vanished account is not an unfollow. It is kept, silently ("hidden"), and
  examined again every `recheck` while it stays unlisted: once it is active and still
  unlisted, its absence is pending again and confirmed like any other.
* Counts are never evidence of absence (they include deactivated accounts and are seen stale,
  low, high and zero). One use is left: an empty list while the account's own count says it
  follows someone, with members known, is not believed (it fails the poll).
* Until a watch has a baseline nothing is reported; `baseline.py` reads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watcher.clock import parse_iso
from watcher.errors import AccountNotFound, UntrustworthyListing
from watcher.platforms.base import Listing, Profile, Relation

# A stored member's state (the `edges.state` column): listed, missing from one complete pass
# (absence not yet believed), or kept silently (deactivated or vanished).
PRESENT, PENDING, HIDDEN = "present", "pending", "hidden"

FetchProfile = Callable[[str], Awaitable[Profile | None]]
FetchProfiles = Callable[[Sequence[str]], Awaitable[dict[str, Profile | None]]]

# How long an absence must last, across polls, before it is believed (`confirm_after`):
# longer than replicas lag behind each other (the README states the assumption).
SETTLE_SECONDS = 60.0
# How often a member kept silently (deactivated or vanished) is examined again.
RECHECK_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Absent:
    """A stored member a listing lacks: its state, and since when it has had that state."""

    target_id: str
    state: str
    since: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """A listing against the stored members of its watch, as plain values: the store computes
    it (in SQL for long lists, see `Listings.compare`), the rules below only weigh it."""

    new: list[tuple[Profile, str | None]]
    absent: list[Absent]
    hidden: list[str]


@dataclass(frozen=True, slots=True)
class Reading:
    """One read of the list (one or more passes) and how it compares with what is stored."""

    listing: Listing
    comparison: Comparison
    size: int


ReadAgain = Callable[[], Awaitable[Reading]]


@dataclass(slots=True)
class Changes:
    added: list[Profile] = field(default_factory=list)
    removed: list[Profile] = field(default_factory=list)
    set_state: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    # Hidden members examined now and found still hidden.
    checked: list[str] = field(default_factory=list)
    # Profiles worth keeping: the accounts events name, and those found deactivated.
    profiles: list[Profile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Timing:
    """The moments the rules weigh: when this poll started, how long absence must last and
    how often hidden members are examined."""

    started: datetime
    settle: float = SETTLE_SECONDS
    recheck: float = RECHECK_SECONDS

    def settled(self, since: str) -> bool:
        """Whether a state recorded at `since` has lasted long enough to act on."""
        return parse_iso(since) <= self.started - timedelta(seconds=self.settle)

    def recheck_before(self) -> datetime:
        return self.started - timedelta(seconds=self.recheck)


async def reconcile(
    first: Reading,
    *,
    account: Profile,
    relation: Relation,
    timing: Timing,
    read_again: ReadAgain,
    fetch_profiles: FetchProfiles,
    fetch_profile: FetchProfile,
) -> Changes:
    """What changed, given the poll's first reading; `read_again` makes the verifying one."""
    changes = Changes()
    _take_presence(changes, first.comparison)
    if not first.listing.complete:
        return changes
    if not first.size:
        await _refuse_empty(first, account, relation, fetch_profile)
    due: list[str] = []
    for absent in first.comparison.absent:
        if absent.state == PRESENT:
            changes.set_state[absent.target_id] = PENDING  # missing once: wait and see
        elif timing.settled(absent.since):
            due.append(absent.target_id)
    if due:
        await _confirm(
            changes, due, await read_again(), account, relation, fetch_profiles, fetch_profile
        )
    hidden = [t for t in first.comparison.hidden if t not in changes.set_state]
    if hidden:
        await _examine_hidden(changes, hidden, fetch_profiles)
    return changes


def _take_presence(changes: Changes, comparison: Comparison) -> None:
    """Listed accounts not stored as present: new ones are additions, the others (pending or
    hidden) are simply present again."""
    for profile, state in comparison.new:
        if changes.set_state.get(profile.id) == PRESENT:
            continue  # already taken from an earlier pass of this poll
        changes.set_state[profile.id] = PRESENT
        if state is None:
            changes.added.append(profile)
            changes.profiles.append(profile)


async def _confirm(
    changes: Changes,
    due: list[str],
    second: Reading,
    account: Profile,
    relation: Relation,
    fetch_profiles: FetchProfiles,
    fetch_profile: FetchProfile,
) -> None:
    """Weigh the pending absences that have lasted against the verifying reading."""
    _take_presence(changes, second.comparison)  # what the first pass missed, and who is back
    if not second.listing.complete:
        return
    gone = {absent.target_id for absent in second.comparison.absent}
    confirmed = [target for target in due if target in gone]
    if not confirmed:
        return
    if not second.size:
        await _refuse_empty(second, account, relation, fetch_profile)
    found = await fetch_profiles(confirmed)
    for target_id in confirmed:
        target = found.get(target_id)
        if target is None or target.deactivated:
            changes.set_state[target_id] = HIDDEN
            changes.checked.append(target_id)
            if target is not None:
                changes.profiles.append(target)
        else:
            changes.removed.append(target)
            changes.profiles.append(target)
            changes.delete.append(target_id)


async def _examine_hidden(
    changes: Changes, hidden: list[str], fetch_profiles: FetchProfiles
) -> None:
    """Hidden members unlisted for a while: still deactivated or gone, they stay hidden; active
    again yet unlisted, their absence becomes pending, to be confirmed like any other."""
    found = await fetch_profiles(hidden)
    for target_id in hidden:
        target = found.get(target_id)
        if target is None or target.deactivated:
            changes.checked.append(target_id)
        else:
            changes.set_state[target_id] = PENDING


async def _refuse_empty(
    reading: Reading, account: Profile, relation: Relation, fetch_profile: FetchProfile
) -> None:
    """An empty list is a claim: the account must still exist (an unknown id lists as an empty
    200), and its own count must not say it follows anyone while members are known."""
    after = await fetch_profile(account.id)
    if after is None:
        raise AccountNotFound(f"account {account.handle} disappeared during the poll")
    count = after.count_of(relation)
    if count and any(absent.state != HIDDEN for absent in reading.comparison.absent):
        raise UntrustworthyListing(
            f"the {relation} list came back empty while the profile counts {count}; not trusted"
        )
