# METADATA
# title: A recorded review is signed by its reviewer
# description: >-
#   spec.governance.lastReview carries an SSH signature (ssh-keygen -Y sign -n golive.dev) by
#   the person in `by`, an allowed signer with the right to record reviews, over the agent and
#   the record. golive verifies it in Python (input.signoffs.lastReview); warn until the
#   platform team sets deny.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: review
package golive.governance.signed_review

import rego.v1

recorded if is_object(object.get(input, ["agent", "spec", "governance", "lastReview"], null))

check := c if {
	c := input.signoffs.lastReview
	is_object(c)
} else := {"verified": false, "reason": "golive gave no verdict on the review's signature"}

deny contains violation if {
	recorded
	not check.verified == true
	violation := {
		"field": "spec.governance.lastReview.signature",
		"msg": object.get(check, "reason", "the review's signature is not verified"),
	}
}
