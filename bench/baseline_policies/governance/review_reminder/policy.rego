# METADATA
# title: The next checklist review is coming up
# description: >-
#   Warns from warnDays before the next checklist review is due (the last review in
#   spec.governance.lastReview plus the reviewCadence) until a new review is recorded.
# custom:
#   enforcement: warn
#   severity: low
#   checklist: review
#   warnDays: 3
package golive.governance.review_reminder

import rego.v1

import data.golive.lib.review

# How long before the due date the reminder starts: custom.warnDays above.
warn_days := review.days_parameter(rego.metadata.chain(), "warnDays")

deny contains violation if {
	not review.future
	time.now_ns() < review.due_ns
	time.now_ns() >= review.days_after(review.due_ns, 0 - warn_days)
	violation := {
		"field": "spec.governance.lastReview.at",
		"msg": sprintf(
			"the next %s review is due on %s (last review %s); hold it and record it in spec.governance.lastReview",
			[review.cadence, review.rfc3339(review.due_ns), review.at],
		),
	}
}

deny contains violation if {
	not review.future
	time.now_ns() >= review.due_ns
	violation := {
		"field": "spec.governance.lastReview.at",
		"msg": sprintf(
			"the %s review was due on %s (last review %s); hold it and record it in spec.governance.lastReview",
			[review.cadence, review.rfc3339(review.due_ns), review.at],
		),
	}
}
