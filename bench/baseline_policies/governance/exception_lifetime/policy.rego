# METADATA
# title: Exceptions are short-lived
# description: >-
#   An AgentException that waives a policy for this agent expires at most maxLifetimeDays
#   after it was granted (its creation in the cluster; in golive check, the decision time).
#   Renew a longer waiver when it runs out, with a new sign-off. warn until the platform team
#   sets deny; no exception waives this rule.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: signoff
#   maxLifetimeDays: 90
package golive.governance.exception_lifetime

import rego.v1

import data.golive.lib.review

# custom.maxLifetimeDays above (golive refuses, at load time, a value that is not a whole
# number of days from 0 to 366).
max_days := review.days_parameter(rego.metadata.chain(), "maxLifetimeDays")

day_ns := ((24 * 60) * 60) * 1000000000

deny contains violation if {
	some exception in object.get(input, ["exceptions"], [])
	granted := object.get(input, ["signoffs", "exceptions", exception.name, "grantedAt"], input.context.now)
	lifetime := time.parse_rfc3339_ns(exception.expiresAt) - time.parse_rfc3339_ns(granted)
	lifetime > max_days * day_ns
	violation := {
		"field": "metadata.name",
		"msg": sprintf(
			concat("", [
				"AgentException %s runs %d days (granted %s, expires %s), longer than the %d days ",
				"an exception may last; shorten expiresAt, renew it when it runs out",
			]),
			[exception.name, ceil(lifetime / day_ns), granted, exception.expiresAt, max_days],
		),
	}
}
