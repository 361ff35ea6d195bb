"""`golive check`: the decision offline, on files, for CI."""
