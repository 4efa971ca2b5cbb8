"""Prometheus metrics: what happened (counters and histograms, here) and what is (``live_metrics``).

The counters live in one registry of this module, as prometheus_client expects, labelled by queue
(and pillow) so that several dashboards in one process (the tests) keep theirs apart. Labels only
ever hold names from the settings or from the small fixed sets below, never a message's text.
"""

import gc
import re
from datetime import UTC, datetime
from functools import wraps
from time import monotonic

from gevent import Greenlet
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

# The *_created series double every counter's output and say nothing a scraper needs.
disable_created_metrics()

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_start_time_seconds, memory, CPU, open files
PlatformCollector(registry=REGISTRY)  # python_info


def live_greenlets():
    """gevent's greenlets alive in this process (started or not yet), by one pass over the
    heap: each screen's, each request's, each loop's."""
    return sum(isinstance(o, Greenlet) and not o.dead for o in gc.get_objects())


# A leak of greenlets (a task per screen that never ends) shows here long before in memory.
Gauge("pillow_greenlets", "Greenlets alive in this process. Each scrape walks the whole heap "
      "once (gc.get_objects()): milliseconds, fine at Prometheus' pace.",
      registry=REGISTRY).set_function(live_greenlets)

APPLIED = Counter("pillow_messages_applied", "Messages applied: they became the current state.",
                  ["queue", "pillow"], registry=REGISTRY)
SKIPPED = Counter("pillow_messages_skipped",
                  "Messages skipped as older than the current state (then deleted).",
                  ["queue", "pillow"], registry=REGISTRY)
REDELIVERED = Counter("pillow_messages_redelivered",
                      "Messages received again after being applied (their delete was lost).",
                      ["queue", "pillow"], registry=REGISTRY)
POISONED = Counter("pillow_messages_poisoned",
                   "Messages moved to the poison queue, by reason class.",
                   ["queue", "reason"], registry=REGISTRY)
RECEIVE_ERRORS = Counter("pillow_receive_errors", "Receives from the queue that failed.",
                         ["queue"], registry=REGISTRY)
DELETE_ERRORS = Counter("pillow_delete_errors",
                        "Batch deletes that failed (their messages come back and are skipped).",
                        ["queue"], registry=REGISTRY)
APPLY_DELAY = Histogram(
    "pillow_apply_delay_seconds",
    "Seconds from a message's time (its at, else its insertion time) until its state was "
    "saved and pushed.",
    ["queue", "pillow"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800))
POLL_DURATION = Histogram(
    "pillow_poll_duration_seconds",
    "Seconds one poll took: a receive and the handling of what it brought.",
    ["queue"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
BROADCASTS = Counter("pillow_broadcasts", "Events this process pushed to screens, by event.",
                     ["event"], registry=REGISTRY)
BROADCAST_DURATION = Histogram(
    "pillow_broadcast_duration_seconds",
    "Seconds one push took to hand an event on: to this process's screens, or (with Redis) "
    "to the sender that publishes it.",
    ["event"], registry=REGISTRY,
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

# Broadcast events are named in the code; anything else would be a bug, counted as "other".
EVENTS = {"state", "status", "reload", "hello"}

# Reason classes of a poisoned message (the ``reason`` label), from the reasons that
# ``domain.messages``, ``domain.pillows`` and the consumer give. Checked in order.
POISON_CLASSES = (
    (re.compile(r"delivered \d+ times"), "too_many_deliveries"),
    (re.compile(r".*; as base64 it does not decode"), "not_decodable"),
    (re.compile(r"message is not text"), "not_text"),
    (re.compile(r"message is \d+ characters"), "too_long"),
    (re.compile(r"message is empty"), "empty"),
    (re.compile(r"invalid JSON|JSON |a JSON message"), "bad_json"),
    (re.compile(r"message names no pillow"), "no_pillow"),
    (re.compile(r"unknown pillow"), "unknown_pillow"),
    (re.compile(r"pillow "), "bad_pillow"),
    (re.compile(r"message has no state"), "no_state"),
    (re.compile(r"unknown state"), "unknown_state"),
    (re.compile(r"state "), "bad_state"),
    (re.compile(r"text "), "bad_text"),
    (re.compile(r"at "), "bad_time"),
    (re.compile(r"legacy "), "bad_legacy"),
)
OTHER = "other"


def poison_class(reason):
    """The class of a poison ``reason`` (one of POISON_CLASSES' or "other")."""
    reason = reason.removeprefix("base64 message: ")
    return next((name for pattern, name in POISON_CLASSES if pattern.match(reason)), OTHER)


def counted_push(push):
    """``push(event, data)`` counted and timed as one broadcast."""

    @wraps(push)
    def counted(event, data):
        label = event if event in EVENTS else OTHER
        started = monotonic()
        try:
            return push(event, data)
        finally:
            BROADCAST_DURATION.labels(label).observe(monotonic() - started)
            BROADCASTS.labels(label).inc()

    return counted


OUTCOMES = {"applied": APPLIED, "skipped": SKIPPED, "redelivered": REDELIVERED}


def start_counting(queue, pillows):
    """Show a queue's counters at 0 from the start: a rate needs a series before its first
    message (the stalled-queue alert compares the applied rate with the depth)."""
    for pillow in pillows:
        for counter in OUTCOMES.values():
            counter.labels(queue, pillow)
    for counter in (RECEIVE_ERRORS, DELETE_ERRORS):
        counter.labels(queue)


def count_handled(queue, outcomes):
    """Count the messages of a batch once it is saved and pushed: ``(pillow, outcome, its
    time)`` each, outcome a key of OUTCOMES; an applied one's delay is from its time to now."""
    now = datetime.now(UTC)
    for pillow, outcome, at in outcomes:
        OUTCOMES[outcome].labels(queue, pillow).inc()
        if outcome == "applied":
            APPLY_DELAY.labels(queue, pillow).observe(max(0.0, (now - at).total_seconds()))
