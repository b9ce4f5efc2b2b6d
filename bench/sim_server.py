"""A simulated Audius world served from its own process, so the measured process is ours alone.

Prints the base URL on stdout, then serves until stdin closes.
    python -m bench.sim_server --following 30000
    python -m bench.sim_server --followers 1000000
"""

from __future__ import annotations

import argparse
import sys

from watcher.sim.audius import AudiusSim


def build(following: int, followers: int, seed: int) -> AudiusSim:
    """An account `star` whose lists have distinct follower counts: counts check out."""
    sim = AudiusSim(seed=seed, replicas=3, load_seed=False, log_limit=1000)
    star = sim.add_user(handle="star", name="Star", base_followers=0)
    if following:
        followees = sim.add_users(following, prefix="artist", base_followers=lambda i: 7 * i + 3)
        sim.follow_many(star, followees)
    if followers:
        fans = sim.add_users(followers, prefix="fan", base_followers=lambda i: i + 1)
        sim.add_followers(star, fans)
    return sim


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--following", type=int, default=0)
    parser.add_argument("--followers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    sim = build(args.following, args.followers, args.seed)
    sim.latency = args.latency
    with sim.serve() as base_url:
        print(base_url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()
