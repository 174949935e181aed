"""``noticedesk worker``: SQS queues into the store, any number of processes on any hosts."""
