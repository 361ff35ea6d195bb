package golive.observability.live_test

import rego.v1

import data.golive.observability.live

agent := {"metadata": {"name": "invoice-triage"}, "spec": {"monitoring": {"metricsPath": "/metrics"}}}

now := "2026-12-07T12:00:00Z"

observed(scraped, rolled_out_at) := {"scraped": scraped, "rolledOutAt": rolled_out_at}

test_not_scraped_after_the_grace_period_warned if {
	violations := live.deny with input.agent as agent
		with input.observed as observed(false, "2026-12-07T11:49:00Z")
		with time.now_ns as time.parse_rfc3339_ns(now)
	count(violations) == 1
	some v in violations
	v.field == "spec.monitoring.metricsPath"
	contains(v.msg, "no Prometheus scrapes this agent: it rolled out at 2026-12-07T11:49:00Z")
	contains(v.msg, "more than 10 minutes ago")
}

test_not_scraped_within_the_grace_period_allowed if {
	count(live.deny) == 0 with input.agent as agent
		with input.observed as observed(false, "2026-12-07T11:51:00Z")
		with time.now_ns as time.parse_rfc3339_ns(now)
}

test_scraped_allowed if {
	count(live.deny) == 0 with input.agent as agent
		with input.observed as observed(true, "2026-12-01T00:00:00Z")
		with time.now_ns as time.parse_rfc3339_ns(now)
}

test_not_rolled_out_is_not_judged if {
	count(live.deny) == 0 with input.agent as agent
		with input.observed as observed(false, null)
		with time.now_ns as time.parse_rfc3339_ns(now)
}

test_no_observation_is_not_judged if {
	count(live.deny) == 0 with input.agent as agent
}
