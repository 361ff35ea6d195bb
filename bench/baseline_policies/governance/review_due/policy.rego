# METADATA
# title: The go-live checklist review is not overdue
# description: >-
#   An agent that records its last checklist review (spec.governance.lastReview: at, by) is
#   reviewed again within its reviewCadence (weekly 7, monthly 30, quarterly 90 days) plus
#   graceDays; the record names a person and a date that has passed.
# custom:
#   enforcement: deny
#   severity: medium
#   checklist: review
#   graceDays: 7
package golive.governance.review_due

import rego.v1

import data.golive.lib.fields
import data.golive.lib.people
import data.golive.lib.review

# The grace period after the due date before an overdue review blocks: custom.graceDays above.
grace_days := review.days_parameter(rego.metadata.chain(), "graceDays")

last_review := "spec.governance.lastReview"

example := "2026-11-30 or 2026-11-30T14:00:00Z"

deny contains violation if {
	review.recorded
	not is_object(review.record)
	violation := {
		"field": last_review,
		"msg": concat("", [
			"lastReview is ", fields.text(review.record),
			"; expected {at, by}: when the checklist was last reviewed and the person who reviewed it",
		]),
	}
}

deny contains violation if {
	review.at_missing
	violation := {
		"field": concat(".", [last_review, "at"]),
		"msg": concat("", ["lastReview has no date; set at to the day or moment of the review, e.g. ", example]),
	}
}

deny contains violation if {
	is_object(review.record)
	not review.at_missing
	not review.reviewed_ns
	violation := {
		"field": concat(".", [last_review, "at"]),
		"msg": concat("", [
			"lastReview date ", json.marshal(review.at),
			" is not a date; expected YYYY-MM-DD or an RFC 3339 time to the second, e.g. ", example,
		]),
	}
}

deny contains violation if {
	review.future
	violation := {
		"field": concat(".", [last_review, "at"]),
		"msg": concat("", [
			`lastReview date "`, review.at,
			`" is in the future; record the date of a review that has taken place`,
		]),
	}
}

deny contains violation if {
	is_object(review.record)
	some problem in people.problems(object.get(review.record, "by", null), "reviewer")
	violation := {"field": fields.join(concat(".", [last_review, "by"]), problem.attr), "msg": problem.msg}
}

deny contains violation if {
	review.recorded
	review.cadence_unknown
	violation := {
		"field": "spec.governance.reviewCadence",
		"msg": concat("", [
			"reviewCadence ", json.marshal(review.cadence),
			" is unknown, so the next review cannot be scheduled; expected weekly, monthly or quarterly",
		]),
	}
}

deny contains violation if {
	not review.future
	blocked_from := review.days_after(review.due_ns, grace_days)
	time.now_ns() >= blocked_from
	violation := {
		"field": concat(".", [last_review, "at"]),
		"msg": sprintf(
			"the last review (%s, cadence %s) was due again on %s; overdue past the %d-day grace period since %s: %s",
			[
				review.at, review.cadence, review.rfc3339(review.due_ns), grace_days,
				review.rfc3339(blocked_from), "hold the review and record it in spec.governance.lastReview",
			],
		),
	}
}
