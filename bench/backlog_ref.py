"""The backlog reference: the raw SDK receiving and deleting a queue's messages, concurrently.

    python -m bench.backlog_ref CONNECTION_STRING QUEUE N --receivers R --pool P

``R`` greenlets receive batches of 32 and hand each message to a gevent pool of ``P`` deleters
(a full pool holds the receivers back). Prints one JSON line: seconds from the first receive to the
last delete, messages deleted, and HTTP requests made (counted per attempt by a request hook).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import requests  # noqa: E402
from azure.core.pipeline.transport import RequestsTransport  # noqa: E402
from azure.storage.queue import QueueClient  # noqa: E402


def drain(connection_string, queue, n, receivers, pool_size, deadline):
    counts = {"requests": 0, "received": 0, "deleted": 0, "empty": 0}

    def hook(request):
        counts["requests"] += 1

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2,
                                            pool_maxsize=receivers + pool_size + 4)
    session.mount("http://", adapter)
    client = QueueClient.from_connection_string(
        connection_string, queue, transport=RequestsTransport(session=session, session_owner=False),
        raw_request_hook=hook)
    pool = gevent.pool.Pool(pool_size)
    end = time.monotonic() + deadline

    def delete(message):
        client.delete_message(message)
        counts["deleted"] += 1

    def receive():
        while counts["received"] < n and time.monotonic() < end:
            batch = list(client.receive_messages(max_messages=32, messages_per_page=32,
                                                 visibility_timeout=120))
            if not batch:
                counts["empty"] += 1
                if counts["empty"] > 20 * receivers:  # the queue is empty or hidden: give up
                    return
                gevent.sleep(0.02)
                continue
            counts["received"] += len(batch)
            for message in batch:
                pool.spawn(delete, message)

    started = time.time()
    gevent.joinall([gevent.spawn(receive) for _ in range(receivers)], raise_error=True)
    pool.join(timeout=max(1, end - time.monotonic()), raise_error=True)
    counts.update(start=started, end=time.time(), receivers=receivers, pool=pool_size)
    counts["seconds"] = round(counts["end"] - started, 4)
    client.close()
    session.close()
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("connection_string")
    parser.add_argument("queue")
    parser.add_argument("n", type=int)
    parser.add_argument("--receivers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=240)
    args = parser.parse_args()
    result = drain(args.connection_string, args.queue, args.n, args.receivers, args.pool,
                   args.deadline)
    print(json.dumps(result), flush=True)
