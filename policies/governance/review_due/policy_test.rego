package golive.governance.review_due_test

import rego.v1

import data.golive.governance.review_due

lee := {"name": "Lee Park", "email": "lee.park@example.com"}

# agent(governance) is an agent with this governance block.
agent(governance) := {
	"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
	"spec": {"owner": {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"}, "governance": governance},
}

# found(governance, now) is the set of [field, msg] review_due reports at `now` (RFC 3339).
found(governance, now) := {[v.field, v.msg] |
	some v in review_due.deny with input.agent as agent(governance)
		with time.now_ns as time.parse_rfc3339_ns(now)
}

fields(governance, now) := {f | some [f, _] in found(governance, now)}

# governance(cadence, at) records a review by Lee Park at `at`.
governance(cadence, at) := {"reviewCadence": cadence, "lastReview": {"at": at, "by": lee}}

monthly(at) := governance("monthly", at)

rfc3339(ns) := time.format([ns, "UTC", "2006-01-02T15:04:05Z07:00"])

test_grace_days_come_from_metadata if {
	review_due.grace_days == 7
}

test_recent_review_allowed if {
	found(monthly("2026-11-30"), "2026-12-02T10:00:00Z") == set()
}

test_no_review_recorded_is_not_judged if {
	found({"reviewCadence": "weekly"}, "2026-12-02T10:00:00Z") == set()
	found({}, "2026-12-02T10:00:00Z") == set()
	count(review_due.deny) == 0 with input.agent as {"metadata": {"name": "a"}, "spec": {}}
	count(review_due.deny) == 0 with input.agent as {"metadata": {"name": "a"}, "spec": null}
	found({"lastReview": null}, "2026-12-02T10:00:00Z") == set()
}

# monthly: due 30 days after the review, blocked graceDays (7) later, to the second.
test_overdue_blocks_exactly_after_the_grace_period if {
	found(monthly("2026-11-30"), "2026-12-30T00:00:00Z") == set() # due, within grace
	found(monthly("2026-11-30"), "2027-01-05T23:59:59Z") == set()
	found(monthly("2026-11-30"), "2027-01-06T00:00:00Z") == {[
		"spec.governance.lastReview.at",
		concat("", [
			"the last review (2026-11-30, cadence monthly) was due again on 2026-12-30T00:00:00Z; ",
			"overdue past the 7-day grace period since 2027-01-06T00:00:00Z: ",
			"hold the review and record it in spec.governance.lastReview",
		]),
	]}
}

test_every_cadence_has_its_period if {
	every cadence, days in {"weekly": 7, "monthly": 30, "quarterly": 90} {
		blocked := time.add_date(time.parse_ns("2006-01-02", "2026-01-01"), 0, 0, days + 7)
		fields(governance(cadence, "2026-01-01"), rfc3339(blocked - 1000000000)) == set()
		fields(governance(cadence, "2026-01-01"), rfc3339(blocked)) == {"spec.governance.lastReview.at"}
	}
}

test_a_moment_with_an_offset_counts_from_that_moment if {
	# 2026-11-30T14:00:00+02:00 is 12:00 UTC: weekly, blocked 14 days later at 12:00 UTC.
	at := "2026-11-30T14:00:00+02:00"
	fields(governance("weekly", at), "2026-12-14T11:59:59Z") == set()
	fields(governance("weekly", at), "2026-12-14T12:00:00Z") == {"spec.governance.lastReview.at"}
}

test_a_new_review_lifts_the_block if {
	fields(monthly("2026-10-01"), "2026-12-02T10:00:00Z") == {"spec.governance.lastReview.at"}
	fields(monthly("2026-12-02"), "2026-12-02T10:00:00Z") == set()
}

test_review_in_the_future_denied if {
	found(monthly("2026-12-03"), "2026-12-02T10:00:00Z") == {[
		"spec.governance.lastReview.at",
		`lastReview date "2026-12-03" is in the future; record the date of a review that has taken place`,
	]}

	# A moment one second ahead of the decision is in the future too; the same second is not.
	fields(monthly("2026-12-02T10:00:01Z"), "2026-12-02T10:00:00Z") == {"spec.governance.lastReview.at"}
	fields(monthly("2026-12-02T10:00:00Z"), "2026-12-02T10:00:00Z") == set()
}

test_future_review_is_not_also_overdue if {
	count(found(monthly("2099-01-01"), "2026-12-02T10:00:00Z")) == 1
}

test_date_that_is_not_a_date_denied if {
	bad := ["2026-02-30", "2026-13-01", "30.11.2026", "2026-11-30T25:00:00Z", "2026-11-30T14:00Z", "yesterday", 20261130]
	every at in bad {
		some [field, msg] in found(monthly(at), "2026-12-02T10:00:00Z")
		field == "spec.governance.lastReview.at"
		startswith(msg, concat("", ["lastReview date ", json.marshal(at), " is not a date; expected YYYY-MM-DD"]))
	}
}

test_missing_date_denied if {
	every record in [{"by": lee}, {"at": null, "by": lee}, {"at": " ", "by": lee}] {
		found({"reviewCadence": "monthly", "lastReview": record}, "2026-12-02T10:00:00Z") == {[
			"spec.governance.lastReview.at",
			"lastReview has no date; set at to the day or moment of the review, e.g. 2026-11-30 or 2026-11-30T14:00:00Z",
		]}
	}
}

test_record_that_is_not_an_object_denied if {
	some [field, msg] in found({"reviewCadence": "monthly", "lastReview": "2026-11-30"}, "2026-12-02T10:00:00Z")
	field == "spec.governance.lastReview"
	msg == concat("", [
		"lastReview is 2026-11-30; expected {at, by}: ",
		"when the checklist was last reviewed and the person who reviewed it",
	])
}

test_reviewer_must_be_a_person if {
	found({"reviewCadence": "monthly", "lastReview": {"at": "2026-11-30"}}, "2026-12-02T10:00:00Z") == {[
		"spec.governance.lastReview.by",
		"no reviewer declared; name one person (first and last name) with a personal email",
	]}
	platform := {"name": "Platform Team", "email": "platform@example.com"}
	team := {"reviewCadence": "monthly", "lastReview": {"at": "2026-11-30", "by": platform}}
	fields(team, "2026-12-02T10:00:00Z") == {"spec.governance.lastReview.by.name", "spec.governance.lastReview.by.email"}
}

test_unknown_cadence_denied_when_a_review_is_recorded if {
	every cadence in ["yearly", "Monthly", 30, true] {
		some [field, msg] in found(governance(cadence, "2026-11-30"), "2026-12-02T10:00:00Z")
		field == "spec.governance.reviewCadence"
		msg == concat("", [
			"reviewCadence ", json.marshal(cadence),
			" is unknown, so the next review cannot be scheduled; expected weekly, monthly or quarterly",
		])
	}

	# Without a record the cadence is review_cadence's concern (warn), not this rule's.
	found({"reviewCadence": "yearly"}, "2026-12-02T10:00:00Z") == set()
}

test_missing_cadence_with_a_record_is_not_denied_here if {
	# golive.governance.review_cadence warns that no cadence is declared.
	found({"lastReview": {"at": "2020-01-01", "by": lee}}, "2026-12-02T10:00:00Z") == set()
}

test_an_invalid_grace_parameter_reads_as_zero if {
	every value in [-1, 1.5, "7", null] {
		chain := [{"path": ["golive"], "annotations": {"scope": "package", "custom": {"graceDays": value}}}]
		data.golive.lib.review.days_parameter(chain, "graceDays") == 0
	}
	data.golive.lib.review.days_parameter([], "graceDays") == 0
	three := [{"path": [], "annotations": {"scope": "package", "custom": {"graceDays": 3}}}]
	data.golive.lib.review.days_parameter(three, "graceDays") == 3
}

test_grace_period_follows_the_parameter if {
	# with grace 0 the review blocks at the due moment itself.
	at_due := fields(monthly("2026-11-30"), "2026-12-30T00:00:00Z") with review_due.grace_days as 0
	at_due == {"spec.governance.lastReview.at"}
}
