"""The watcher: the one greenlet that consumes the queue, and its link health."""
