package golive.governance.signed_review_test

import rego.v1

import data.golive.governance.signed_review

reviewer := {"name": "Lee Park", "email": "lee.park@example.com"}

reviewed := {"spec": {"governance": {"lastReview": {"at": "2026-11-30", "by": reviewer}}}}

test_verified_review_allowed if {
	count(signed_review.deny) == 0 with input.agent as reviewed
		with input.signoffs as {"lastReview": {"verified": true, "reason": ""}}
}

test_unverified_review_reported if {
	reason := "the review recorded by Lee Park is not signed"
	violations := signed_review.deny with input.agent as reviewed
		with input.signoffs as {"lastReview": {"verified": false, "reason": reason}}
	violations == {{"field": "spec.governance.lastReview.signature", "msg": reason}}
}

test_missing_verdict_is_never_verified if {
	violations := signed_review.deny with input.agent as reviewed with input.signoffs as {"lastReview": null}
	count(violations) == 1
}

test_no_review_recorded_not_judged if {
	count(signed_review.deny) == 0 with input.agent as {"spec": {"governance": {}}}
		with input.signoffs as {"lastReview": null}
}
