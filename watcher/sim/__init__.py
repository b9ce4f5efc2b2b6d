"""Simulated platform APIs served over real HTTP on loopback, for tests, the demo and benchmarks.

`watcher.sim.http` is the shared serving base; `watcher.sim.audius.AudiusSim` is the Audius API,
`watcher.sim.soundcloud.SoundCloudSim` the SoundCloud API (token endpoint included).
`watcher.sim.adversity` holds the switchable traps both take (`Adversity`, `MODES`), and
`watcher.sim.history` the ground truth over time (`Change`, behind `history()` / `state_at()`).
"""
