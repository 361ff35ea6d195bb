package golive.governance.review_reminder_test

import rego.v1

import data.golive.governance.review_reminder

lee := {"name": "Lee Park", "email": "lee.park@example.com"}

# found(governance, now) is the set of [field, msg] review_reminder reports at `now`.
found(governance, now) := {[v.field, v.msg] |
	some v in review_reminder.deny with input.agent as {
		"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
		"spec": {"governance": governance},
	}
		with time.now_ns as time.parse_rfc3339_ns(now)
}

governance(cadence, at) := {"reviewCadence": cadence, "lastReview": {"at": at, "by": lee}}

test_warn_days_come_from_metadata if {
	review_reminder.warn_days == 3
}

test_quiet_until_warn_days_before_the_due_date if {
	# weekly after 2026-11-30: due 2026-12-07T00:00:00Z, reminded from 2026-12-04T00:00:00Z.
	found(governance("weekly", "2026-11-30"), "2026-12-03T23:59:59Z") == set()
	found(governance("weekly", "2026-11-30"), "2026-12-04T00:00:00Z") == {[
		"spec.governance.lastReview.at",
		concat("", [
			"the next weekly review is due on 2026-12-07T00:00:00Z (last review 2026-11-30); ",
			"hold it and record it in spec.governance.lastReview",
		]),
	]}
}

test_keeps_reminding_once_due if {
	# The message does not change while the review stays overdue: no status write per day.
	msg := concat("", [
		"the quarterly review was due on 2027-02-28T00:00:00Z (last review 2026-11-30); ",
		"hold it and record it in spec.governance.lastReview",
	])
	every now in ["2027-02-28T00:00:00Z", "2027-03-07T00:00:00Z", "2030-01-01T00:00:00Z"] {
		found(governance("quarterly", "2026-11-30"), now) == {["spec.governance.lastReview.at", msg]}
	}
}

test_a_new_review_silences_it if {
	count(found(governance("monthly", "2026-10-01"), "2026-12-02T10:00:00Z")) == 1
	found(governance("monthly", "2026-12-01"), "2026-12-02T10:00:00Z") == set()
}

test_nothing_to_remind_without_a_schedule if {
	# No record, an unknown cadence, a date that is not one, a future date: review_due reports
	# what is wrong; there is no due date to remind of.
	every block in [
		{"reviewCadence": "weekly"},
		{"lastReview": {"at": "2020-01-01", "by": lee}},
		governance("yearly", "2020-01-01"),
		governance("weekly", "2026-02-30"),
		governance("weekly", "2099-01-01"),
		{"reviewCadence": "weekly", "lastReview": "2020-01-01"},
	] {
		found(block, "2026-12-02T10:00:00Z") == set()
	}
}

test_warn_window_follows_the_parameter if {
	reminded := found(governance("weekly", "2026-11-30"), "2026-12-01T00:00:00Z") with review_reminder.warn_days as 6
	count(reminded) == 1
}
