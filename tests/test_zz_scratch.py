import pytest
from tests.services import SERVICES, Services
from tests.world import AudiusWorld, tastemakers

HOSTILE_NAME = "*_~|<>&@everyone"
HOSTILE_HANDLE = "a_*~|<b>&"

@pytest.mark.parametrize("digest", [True, False])
def test_show(outbox: AudiusWorld, services: Services, digest: bool) -> None:
    outbox.apprise("team", *(services.url(s) for s in SERVICES), digest=digest)
    outbox.watch("curator", "team")
    sim = outbox.sim
    curator = sim.add_user("curator", "The Curator")
    gone = sim.add_user("gone_1", "Gone 1")
    sim.follow(curator, gone)
    outbox.poll()
    sim.unfollow(curator, gone)
    outbox.poll()
    sim.follow(curator, sim.add_user("everyone", HOSTILE_NAME))
    sim.follow(curator, sim.add_user(HOSTILE_HANDLE, "Plain Name"))
    outbox.poll()
    report = outbox.dispatch()
    print(report.outcomes)
    for s in SERVICES:
        print("=====", s)
        for shown in services.shown(s):
            print("TITLE:", repr(shown.title)); print(repr(shown.body)); print(shown.body); print("--")

def test_signal(outbox: AudiusWorld, services: Services) -> None:
    outbox.apprise("team", *(services.url(s) for s in SERVICES))
    outbox.signal("scouting", "team", min_accounts=2)
    users = tastemakers(outbox, 2)
    target = outbox.sim.add_user(HOSTILE_HANDLE, HOSTILE_NAME, base_followers=40)
    for u in users:
        outbox.sim.follow(u, target)
    outbox.poll_all()
    print(outbox.dispatch().outcomes)
    for s in SERVICES:
        print("=====", s)
        for shown in services.shown(s):
            print("TITLE:", repr(shown.title)); print(repr(shown.body)); print(shown.body); print("--")
