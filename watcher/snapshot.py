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
from watcher.store import HIDDEN, PENDING, PRESENT

FetchProfile = Callable[[str], Awaitable[Profile | None]]


@dataclass(slots=True)
class Changes:
    added: list[Profile] = field(default_factory=list)
    removed: list[Profile] = field(default_factory=list)
    set_state: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    baseline: bool = False


async def reconcile(
    *,
    stored: dict[str, str],
    listing: Listing,
    relation: Relation,
    has_baseline: bool,
    account: Profile,
    fetch_profile: FetchProfile,
) -> Changes:
    changes = Changes()
    for target_id, profile in listing.members.items():
        state = stored.get(target_id)
        if state == PRESENT:
            continue
        changes.set_state[target_id] = PRESENT
        changes.profiles.append(profile)
        if state is None and has_baseline:
            changes.added.append(profile)
    if not listing.complete:
        return changes
    if not has_baseline:
        changes.baseline = True
        changes.delete = [t for t in stored if t not in listing.members]
        return changes
    candidates = [
        (target_id, state)
        for target_id, state in stored.items()
        if state != HIDDEN and target_id not in listing.members
    ]
    if not candidates:
        return changes
    if not listing.members:
        await _still_exists(account, fetch_profile)  # a vanished account lists as empty
    _refuse_empty_contradiction(listing, account, relation, stored)
    settled = (
        listing.clean
        and bool(listing.members)
        and _count_credible(account, relation, listing)
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
    listing: Listing, account: Profile, relation: Relation, stored: dict[str, str]
) -> None:
    count = account.count_of(relation)
    if not listing.members and count and any(state == PRESENT for state in stored.values()):
        raise UntrustworthyListing(
            f"the {relation} list came back empty while the profile counts {count}; not trusted"
        )


def _count_credible(account: Profile, relation: Relation, listing: Listing) -> bool:
    """Whether the account's own count can vouch for the list: known, and not below it."""
    count = account.count_of(relation)
    return count is not None and count >= len(listing.members)


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
