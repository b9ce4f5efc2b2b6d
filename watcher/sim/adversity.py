"""Switchable adversity for the simulators: how harsh the simulated servers are.

The real Audius server orders lists by `follower_count DESC` with no tie-breaker, answers a
page with two queries (the ids, then their profiles) on two randomly chosen replicas that lag
each other, and PostgreSQL may order ties differently for any two LIMIT/OFFSET queries. Each
knob below reproduces one of those traps (or one seen on SoundCloud), so tests and benchmarks
can run a client against one trap at a time or against all of them at once (`Adversity.mix()`).

`Adversity()` is the honest default: the simulators then behave, and cost, exactly as they did
before adversity existed. `MODES` maps a name to each preset, for loops over every mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = ["COUNT_MODES", "HONEST", "MID_READ_KINDS", "MODES", "Adversity", "MidRead"]

COUNT_MODES = ("true", "stale", "low", "high", "zero")
MID_READ_KINDS = ("follow", "unfollow", "swap")


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], not {value!r}")


@dataclass(frozen=True)
class MidRead:
    """The list being read changes while it is read (between two of its pages).

    At each page request after the first of a read (Audius: `offset > 0`; SoundCloud: a request
    with a `cursor`), with `probability`, one change is made to that very list just before the
    page is answered, through the simulator's own methods (so it is in `history()`):

    * `follow`: someone joins the list: a member of `pool` (ids or handles) not yet in it, or,
      when none is left and `fresh`, a new account `midread_N` (SoundCloud `midread-N`) whose
      follower count ties with a random member, so it lands anywhere in the order;
    * `unfollow`: a random visible member leaves the list;
    * `swap`: both at once, so the list's size (and its count) does not move.
    """

    probability: float = 0.0
    kinds: tuple[str, ...] = MID_READ_KINDS
    pool: tuple[str, ...] = ()
    fresh: bool = True

    def __post_init__(self) -> None:
        _check_probability("mid_read.probability", self.probability)
        unknown = set(self.kinds) - set(MID_READ_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"mid_read.kinds must be some of {MID_READ_KINDS}, not {self.kinds}")

    @property
    def active(self) -> bool:
        return self.probability > 0.0


@dataclass(frozen=True)
class Adversity:
    """What the simulated servers do to a client; every knob off is the honest default.

    tie_shuffle: ties (equal follower counts) are ordered afresh for every request, not once per
        replica.
    lag: seconds. Each follow/unfollow/deactivate/reactivate/delete reaches each replica after
        its own delay, drawn per change in [0, lag) (one random replica, the one written to,
        sees it at once). Replicas apply changes in order, so a replica always shows the world
        as it was at some moment; until `lag` has passed, two replicas may disagree on a
        list's members, its order and the counts its profiles show.
    split_hydration: a page's order (its ids) comes from one random replica and its profiles
        from another, as on the real server. With `lag`, an entry the first replica lists may
        not be in the list (or may be deactivated) on the hydrating one: it is left out of the
        page (a short page) ...
    hydration_500: ... or, with this probability, the whole page answers HTTP 500 instead (the
        current server always does: 1.0 is production).
    short_pages: probability that a full page with more entries after it is answered short:
        one random entry fewer or, with probability `short_empty`, no entry at all.
    counts: what `follower_count` / `followee_count` every served profile shows: "true";
        "stale" (as they were `counts_age` seconds ago by the sim's clock, so a world built
        less than that ago shows the counts from before it was built); "low" / "high" (off
        by `counts_skew`,
        never below 0); "zero" (0 for everyone, as SoundCloud does live).
    mid_read: the list changes while it is read (see `MidRead`).
    """

    tie_shuffle: bool = False
    lag: float = 0.0
    split_hydration: bool = False
    hydration_500: float = 0.0
    short_pages: float = 0.0
    short_empty: float = 0.5
    counts: str = "true"
    counts_age: float = 60.0
    counts_skew: int = 1
    mid_read: MidRead = field(default_factory=MidRead)

    def __post_init__(self) -> None:
        if self.lag < 0:
            raise ValueError(f"lag must be >= 0 seconds, not {self.lag!r}")
        for name in ("hydration_500", "short_pages", "short_empty"):
            _check_probability(name, getattr(self, name))
        if self.counts not in COUNT_MODES:
            raise ValueError(f"counts must be one of {COUNT_MODES}, not {self.counts!r}")
        if self.counts_age < 0 or self.counts_skew < 0:
            raise ValueError("counts_age and counts_skew must be >= 0")

    @property
    def plain(self) -> bool:
        """Nothing on but (maybe) `tie_shuffle`: the simulator's original, fastest path."""
        return (
            self.lag == 0.0
            and not self.split_hydration
            and self.hydration_500 == 0.0
            and self.short_pages == 0.0
            and self.counts == "true"
            and not self.mid_read.active
        )

    @property
    def honest_counts(self) -> bool:
        return self.counts == "true"

    def describe(self) -> str:
        """The knobs that differ from the honest default, e.g. `lag=2.0, split_hydration=True`."""
        default = Adversity()
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        ]
        return ", ".join(changed) or "honest"

    # -- presets: one per mode, and all at once ------------------------------------------

    @classmethod
    def honest(cls) -> Adversity:
        """Fixed tie order per replica, replicas in step, full pages, true counts."""
        return cls()

    @classmethod
    def shuffled_ties(cls) -> Adversity:
        return cls(tie_shuffle=True)

    @classmethod
    def lagging(cls, lag: float = 5.0) -> Adversity:
        return cls(lag=lag)

    @classmethod
    def split_reads(cls, lag: float = 5.0) -> Adversity:
        """Order and profiles from two lagging replicas: entries missing from a page."""
        return cls(lag=lag, split_hydration=True)

    @classmethod
    def hydration_errors(cls, lag: float = 5.0) -> Adversity:
        """As production: a page whose hydration misses a row answers 500."""
        return cls(lag=lag, split_hydration=True, hydration_500=1.0)

    @classmethod
    def short_paged(cls, probability: float = 0.2) -> Adversity:
        return cls(short_pages=probability)

    @classmethod
    def stale_counts(cls, age: float = 60.0) -> Adversity:
        return cls(counts="stale", counts_age=age)

    @classmethod
    def low_counts(cls, skew: int = 1) -> Adversity:
        return cls(counts="low", counts_skew=skew)

    @classmethod
    def high_counts(cls, skew: int = 1) -> Adversity:
        return cls(counts="high", counts_skew=skew)

    @classmethod
    def zero_counts(cls) -> Adversity:
        return cls(counts="zero")

    @classmethod
    def mid_read_changes(cls, probability: float = 0.2) -> Adversity:
        return cls(mid_read=MidRead(probability=probability))

    @classmethod
    def mix(cls) -> Adversity:
        """Every trap at once, at moderate rates."""
        return cls(
            tie_shuffle=True,
            lag=2.0,
            split_hydration=True,
            hydration_500=0.5,
            short_pages=0.05,
            counts="stale",
            counts_age=10.0,
            mid_read=MidRead(probability=0.05),
        )


HONEST = Adversity()  # the default, as a constant usable in signatures

MODES: dict[str, Adversity] = {
    "honest": Adversity.honest(),
    "tie_shuffle": Adversity.shuffled_ties(),
    "lag": Adversity.lagging(),
    "split_hydration": Adversity.split_reads(),
    "hydration_500": Adversity.hydration_errors(),
    "short_pages": Adversity.short_paged(),
    "counts_stale": Adversity.stale_counts(),
    "counts_low": Adversity.low_counts(),
    "counts_high": Adversity.high_counts(),
    "counts_zero": Adversity.zero_counts(),
    "mid_read": Adversity.mid_read_changes(),
    "mix": Adversity.mix(),
}
