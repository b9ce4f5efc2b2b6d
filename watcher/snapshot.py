"""Reconcile a poll's listing with the stored edges: decide what really changed.

Rules (the README's "How snapshots stay honest" explains them to users):

* Presence is proof: an account in the listing is followed, so a new one is an addition.
* Absence needs evidence. It only counts from a *complete* listing (every position accounted
  for). Even then an absent account is only reported removed when its own profile shows it is
  still active (a deactivated or deleted account vanishes from lists: that is not an unfollow),
  and either the poll saw nothing move (a clean single pass, and the watched account's count
  was the same before and after) or it was already absent from the previous complete poll.
* A count is only evidence when it is credible: known, and at least the number of accounts
  listed (SoundCloud's counts have been seen at 0 for everyone). And a listing that came back
  empty never settles anything on its own: emptied lists are confirmed by the next poll, so a
  glitch (or an account vanishing mid-poll, which lists as an empty 200) is never a wave of
  removals.
* An absent account that has no evidence yet is only marked pending; its profile is fetched
  when there is evidence to weigh, so a noisy poll costs no extra requests.
* Until a watch has one complete listing (its baseline) nothing is reported.
* An empty listing while the profile counts entries, with entries known, is not believed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from watcher.errors import AccountNotFound, UntrustworthyListing
from watcher.platforms.base import Listing, Profile, Relation
from watcher.store import HIDDEN, PENDING, PRESENT, ScratchMembers, Store

FetchProfile = Callable[[str], Awaitable[Profile | None]]


@dataclass(slots=True)
class Changes:
    added: list[Profile] = field(default_factory=list)
    removed: list[Profile] = field(default_factory=list)
    set_state: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    # Profiles worth keeping: the accounts events name, and those found deactivated.
    profiles: list[Profile] = field(default_factory=list)
    # No baseline yet: every member is adopted as present (in SQL, however long the list).
    adopt: bool = False
    baseline: bool = False


async def reconcile(
    *,
    store: Store,
    watch_id: int,
    members: ScratchMembers,
    listing: Listing,
    relation: Relation,
    has_baseline: bool,
    account: Profile,
    fetch_profile: FetchProfile,
) -> Changes:
    changes = Changes()
    if not has_baseline:
        changes.adopt = True
        changes.baseline = listing.complete
        return changes
    new, candidates = store.compare_members(watch_id, members)
    for profile, state in new:
        changes.set_state[profile.id] = PRESENT
        if state is None:
            changes.added.append(profile)
            changes.profiles.append(profile)
    if not listing.complete:
        return changes
    if not candidates:
        return changes
    size = len(members)
    if not size:
        await _still_exists(account, fetch_profile)  # a vanished account lists as empty
        _refuse_empty_contradiction(account, relation, store.edge_counts(watch_id))
    settled = (
        listing.clean
        and size > 0
        and _count_credible(account, relation, size)
        and await _count_unchanged(account, relation, fetch_profile)
    )
    for target_id, state in candidates:
        if not settled and state != PENDING:
            changes.set_state[target_id] = PENDING
            continue
        target = await fetch_profile(target_id)
        if target is None or target.deactivated:
            changes.set_state[target_id] = HIDDEN
            if target is not None:
                changes.profiles.append(target)
        else:
            changes.removed.append(target)
            changes.profiles.append(target)
            changes.delete.append(target_id)
    return changes


def _refuse_empty_contradiction(
    account: Profile, relation: Relation, stored_counts: dict[str, int]
) -> None:
    count = account.count_of(relation)
    if count and stored_counts.get(PRESENT):
        raise UntrustworthyListing(
            f"the {relation} list came back empty while the profile counts {count}; not trusted"
        )


def _count_credible(account: Profile, relation: Relation, size: int) -> bool:
    """Whether the account's own count can vouch for the list: known, and not below it."""
    count = account.count_of(relation)
    return count is not None and count >= size


async def _count_unchanged(
    account: Profile, relation: Relation, fetch_profile: FetchProfile
) -> bool:
    """Whether the watched account's own count stayed put while the list was read."""
    after = await _still_exists(account, fetch_profile)
    return after.count_of(relation) == account.count_of(relation)


async def _still_exists(account: Profile, fetch_profile: FetchProfile) -> Profile:
    after = await fetch_profile(account.id)
    if after is None:
        raise AccountNotFound(f"account {account.handle} disappeared during the poll")
    return after
