"""A simulated world worth watching, for `watcher sim` and `watcher demo`.

A newcomer without an API key should meet lists that behave like real ones: a few curators
following hundreds of artists whose follower counts tie a lot (most artists have a handful
of followers, so Audius's `follower_count DESC` order has long runs of equal keys that page
boundaries cut), an artist gaining followers, and a SoundCloud DJ with a long following
list. `churn()` then makes one live change per platform and says what it did, in one line
each, so what watcher reports can be checked against what really happened.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from watcher.sim.adversity import HONEST, Adversity
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim

# (handle, display name, how many artists it follows)
CURATORS = (
    ("tastemaker", "The Tastemaker", 260),
    ("night-owl", "Night Owl Radio", 180),
    ("crate-digger", "Crate Digger", 120),
)
RISING = ("rising-star", "Rising Star", 150)  # an artist and how many artists follow it
DJ = ("night-shift-dj", "Night Shift DJ", 140)  # on SoundCloud: whom it follows
SCOUT = ("label-scout", "Label Scout", 90)
ARTISTS = 500
PRODUCERS = 260
MAX_DEACTIVATED = 3  # accounts hidden at once; past it, churn brings one back


def tied_count(index: int) -> int:
    """Follower counts as small artists have them: 13 values over hundreds, so long ties."""
    return (index * 7) % 13


@dataclass
class Playground:
    """Both simulated platforms with their accounts, and the randomness that changes them."""

    audius: AudiusSim
    soundcloud: SoundCloudSim
    rng: random.Random
    curators: list[str]
    artists: list[str]
    rising: str
    dj: str
    producers: list[str]
    scout: str
    deactivated: list[str] = field(default_factory=list)

    def churn(self) -> list[str]:
        """One change on Audius and one on SoundCloud: what happened, one line each."""
        return [self.churn_audius(), self.churn_soundcloud()]

    def churn_audius(self) -> str:
        sim, rng = self.audius, self.rng
        choice = rng.random()
        # The first curator is the one the printed configs watch: most changes are its.
        curator = rng.choices(self.curators, weights=[3] + [1] * (len(self.curators) - 1))[0]
        following = set(sim.following(curator))
        name = sim.user(curator).handle
        if choice < 0.4:
            new = rng.choice([a for a in self.artists if a not in following])
            sim.follow(curator, new)
            return f"audius {name} followed {sim.user(new).handle}"
        if choice < 0.7 and following:
            gone = rng.choice(sorted(following))
            sim.unfollow(curator, gone)
            return f"audius {name} unfollowed {sim.user(gone).handle}"
        if choice < 0.9:
            fans = set(sim.followers(self.rising))
            fan = rng.choice([a for a in self.artists if a not in fans and a != self.rising])
            sim.follow(fan, self.rising)
            return f"audius {sim.user(fan).handle} followed {sim.user(self.rising).handle}"
        return self._toggle_account()

    def _toggle_account(self) -> str:
        """Deactivate a followed artist, or bring one back: never an unfollow."""
        sim = self.audius
        if len(self.deactivated) >= MAX_DEACTIVATED:
            back = self.deactivated.pop(0)
            sim.reactivate(back)
            return f"audius {sim.user(back).handle} reactivated their account (no event expected)"
        followed = sorted(set(sim.following(self.curators[0])) - set(self.deactivated))
        quiet = self.rng.choice(followed)
        sim.deactivate(quiet)
        self.deactivated.append(quiet)
        return (
            f"audius {sim.user(quiet).handle} deactivated their account"
            " (hidden from lists, not an unfollow: no event expected)"
        )

    def churn_soundcloud(self) -> str:
        sim, rng = self.soundcloud, self.rng
        owner = self.dj if rng.random() < 0.7 else self.scout
        following = set(sim.following(owner))
        name = sim.user(owner).permalink
        if rng.random() < 0.55 or not following:
            new = rng.choice([p for p in self.producers if p not in following])
            sim.follow(owner, new)
            return f"soundcloud {name} followed {sim.user(new).permalink}"
        gone = rng.choice(sorted(following))
        sim.unfollow(owner, gone)
        return f"soundcloud {name} unfollowed {sim.user(gone).permalink}"


def build(
    seed: int,
    *,
    audius_adversity: Adversity = HONEST,
    soundcloud_adversity: Adversity = HONEST,
) -> Playground:
    """The seeded world; the simulators are built but not yet serving."""
    rng = random.Random(seed)
    audius = AudiusSim(seed=seed, replicas=3, load_seed=False, log_limit=10_000)
    artists = audius.add_users(ARTISTS, prefix="artist", base_followers=tied_count)
    curators = []
    for handle, name, follows in CURATORS:
        curator = audius.add_user(handle=handle, name=name, base_followers=2_000)
        audius.follow_many(curator, rng.sample(artists, follows))
        curators.append(curator)
    rising = audius.add_user(handle=RISING[0], name=RISING[1], base_followers=0)
    audius.add_followers(rising, rng.sample(artists, RISING[2]))
    soundcloud = SoundCloudSim(seed=seed, log_limit=10_000)
    producers = soundcloud.add_users(PRODUCERS, prefix="producer")
    dj = soundcloud.add_user(DJ[0], DJ[1])
    soundcloud.follow_many(dj, rng.sample(producers, DJ[2]))
    scout = soundcloud.add_user(SCOUT[0], SCOUT[1])
    soundcloud.follow_many(scout, rng.sample(producers, SCOUT[2]))
    # Harsh modes go on once the world is built, as bench/sim_server.py does.
    audius.adversity = audius_adversity
    soundcloud.adversity = soundcloud_adversity
    return Playground(audius, soundcloud, rng, curators, artists, rising, dj, producers, scout)
