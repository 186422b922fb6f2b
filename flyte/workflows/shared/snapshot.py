"""The data snapshot time every workflow takes as its ``data_as_of`` input."""

from __future__ import annotations

from datetime import datetime, timezone

#: The snapshot time of a manual run unless one is given: data is taken as unchanged since then,
#: so repeated manual runs hit the cache. Scheduled runs pass their kickoff time instead.
UNVERSIONED = datetime(1970, 1, 1, tzinfo=timezone.utc)
