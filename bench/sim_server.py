"""A simulated Audius world served from its own process, so the measured process is ours alone.

Prints the base URL on stdout, then serves until stdin closes.
    python -m bench.sim_server --following 30000
    python -m bench.sim_server --followers 1000000
    python -m bench.sim_server --following 3000 --adversity mix
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from watcher.sim.adversity import MODES
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


def build_fleet(accounts: int, follows: int, seed: int) -> AudiusSim:
    """`accounts` curators `curator_0`.. each following `follows` artists of a shared pool."""
    import random

    rng = random.Random(seed)
    sim = AudiusSim(seed=seed, replicas=3, load_seed=False, log_limit=1000)
    pool = sim.add_users(max(follows * 20, 1000), prefix="artist", base_followers=lambda i: i + 1)
    curators = sim.add_users(accounts, prefix="curator", base_followers=lambda i: 0)
    for curator in curators:
        sim.follow_many(curator, rng.sample(pool, follows))
    return sim


class RateMeter:
    """Request arrival times, to find the busiest one-second window the simulator saw."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, request: object) -> None:
        self.times.append(time.monotonic())  # list.append is atomic under the GIL

    def busiest_second(self) -> int:
        times, best, start = sorted(self.times), 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--following", type=int, default=0)
    parser.add_argument("--followers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fleet", type=int, default=0, help="curator accounts")
    parser.add_argument("--fleet-follows", type=int, default=200)
    parser.add_argument(
        "--adversity", choices=sorted(MODES), default="honest", help="traps switched on once built"
    )
    args = parser.parse_args()
    if args.fleet:
        sim = build_fleet(args.fleet, args.fleet_follows, args.seed)
    else:
        sim = build(args.following, args.followers, args.seed)
    sim.latency = args.latency
    sim.adversity = MODES[args.adversity]  # after building: the world starts settled
    meter = RateMeter()
    sim.on_request(meter)
    built = time.process_time()
    built_sys = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    with sim.serve() as base_url:
        print(base_url, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin
    stats = {
        "requests": len(meter.times),
        "busiest_second": meter.busiest_second(),
        "serving_cpu_seconds": time.process_time() - built,  # all threads of this process
        "serving_sys_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_stime - built_sys,
    }
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
