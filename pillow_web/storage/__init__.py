"""Azure Storage: the queues, the snapshot blob, its lease, the poison queue."""
