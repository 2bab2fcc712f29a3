"""What makes Neo4jStore.write run a unit of work again, besides the driver's own retries of
transient errors (deadlocks) and the uniqueness constraints a race breaks."""


class StaleRead(Exception):
    """What a writer read changed before it could lock it: run the work again."""


class LeaseExceeded(Exception):
    """A plan needed more ids than its window (ids.py): plan again with a larger one."""
