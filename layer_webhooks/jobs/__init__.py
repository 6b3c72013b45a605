"""The job lifecycle: jobs, retry policy, handler registry, JSON codec, the ledger port, queues."""
