# Review helpers shared by the review policies: the last checklist review an agent records
# (spec.governance.lastReview: {at, by}), its declared cadence and the moments that follow from
# them. golive's operator computes the same moments in Python (controller/domain/review.py) to
# re-decide the agent when they pass and to show the due date in status. No deny rules.
package golive.lib.review

import rego.v1

# Days from one review to the next: a month is 30 days, as in the budget projection, and a
# quarter 90, so the due date never depends on which month the review was held in.
cadence_days := {"weekly": 7, "monthly": 30, "quarterly": 90}

record := object.get(input, ["agent", "spec", "governance", "lastReview"], null)

cadence := object.get(input, ["agent", "spec", "governance", "reviewCadence"], "")

# recorded: the agent records a review; without one there is nothing to fall due.
recorded if record != null

# cadence_known: the cadence is one golive can schedule; cadence_unknown: one is given (not
# missing, null or "") that it cannot schedule, e.g. "yearly", " " or 30.
cadence_known if cadence_days[cadence]

cadence_unknown if {
	not cadence in {"", null}
	not cadence_known
}

# A day (00:00 UTC) or a moment to the second with its offset; the same patterns as the CRD.
date_pattern := `^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$`

clock_pattern := `([01][0-9]|2[0-3]):[0-5][0-9]`

time_pattern := concat("", [
	`^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T`, clock_pattern, `:[0-5][0-9](Z|[+-]`, clock_pattern, `)$`,
])

# moment_ns(s) is s in ns since the epoch; undefined when s is not a valid date or time (e.g.
# 2026-02-30: the patterns admit it, OPA's parser does not).
moment_ns(s) := time.parse_ns("2006-01-02", s) if regex.match(date_pattern, s)

moment_ns(s) := time.parse_rfc3339_ns(s) if regex.match(time_pattern, s)

at := object.get(record, "at", null) if is_object(record)

# at_missing: the record gives no date (missing, null or blank).
at_missing if at == null

at_missing if {
	is_string(at)
	trim_space(at) == ""
}

# reviewed_ns: when the recorded review took place (undefined when `at` is not a date or time).
reviewed_ns := moment_ns(at) if is_string(at)

# future: the recorded review has not taken place yet (decision time: time.now_ns()).
future if reviewed_ns > time.now_ns()

# due_ns: when the next review is due; undefined without a valid record and a known cadence.
due_ns := time.add_date(reviewed_ns, 0, 0, cadence_days[cadence])

# days_after(ns, days) is the moment `days` whole days after ns.
days_after(ns, days) := time.add_date(ns, 0, 0, days)

# rfc3339(ns) renders a moment as Kubernetes writes it, e.g. 2026-12-09T00:00:00Z.
rfc3339(ns) := time.format([ns, "UTC", "2006-01-02T15:04:05Z07:00"])

# days_parameter(chain, key) is the whole number of days in `custom.<key>` of the package
# annotations in chain (a policy passes its rego.metadata.chain()); 0 when that is missing or
# not a whole number >= 0, the strict reading (golive refuses such annotations at load time).
days_parameter(chain, key) := days if {
	some entry in chain
	entry.annotations.scope == "package"
	days := entry.annotations.custom[key]
	is_number(days)
	days >= 0
	days == floor(days)
} else := 0
