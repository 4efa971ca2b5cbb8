"""``pillow_greenlets``: a real ``serve`` counts the greenlets its screens hold, and the count
falls back once the screens have gone (what the soak watches for leaks)."""

from .procs import Screen
from .prometheus import samples, value
from .util import wait_for

SCREENS = 20


def greenlets(dashboard):
    response = dashboard.get("/metrics")
    assert response.status_code == 200, response.text
    return value(samples(response.text), "pillow_greenlets")


def test_the_greenlet_gauge_rises_with_screens_and_falls_back(azurite, dashboards):
    dashboard = dashboards(azurite, None, SCREENS_PER_ADDRESS=0)
    idle = greenlets(dashboard)
    assert idle > 0  # at least the hub and the watcher's loop
    screens = []
    try:
        for _ in range(SCREENS):
            screens.append(Screen(dashboard.url))
        # Each WebSocket holds at least its handler's greenlet while it is open.
        wait_for(lambda: greenlets(dashboard) >= idle + SCREENS, 10,
                 f"{SCREENS} more greenlets than the idle {idle:g}")
    finally:
        for screen in screens:
            screen.close()
    # A few may stay (a pooled connection's, the next poll's): not one per screen.
    wait_for(lambda: greenlets(dashboard) <= idle + 3, 15,
             f"the greenlets back to within 3 of {idle:g}")
