# METADATA
# title: The pods pass the namespace's Pod Security warning level
# description: >-
#   The pod template passes the Pod Security Standards (Kubernetes v1.37) at the level of the
#   namespace's pod-security.kubernetes.io/warn or audit label (the stricter one), or at
#   restricted where the namespace sets neither: golive's default, so that an agent runs with
#   no more privilege than it needs. A finding that golive.podsecurity.enforced already denies
#   is not repeated.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: security
package golive.podsecurity.advisory

import rego.v1

import data.golive.lib.podsecurity

deny contains violation if {
	level := podsecurity.advisory_level
	some finding in podsecurity.violations(level)
	not enforced(finding.field)
	violation := {
		"field": finding.field,
		"msg": sprintf("%s [Pod Security %s check %s; %s]", [
			finding.msg, level, finding.check, podsecurity.advisory_source,
		]),
	}
}

enforced(field) if {
	some finding in podsecurity.violations(podsecurity.enforce_level)
	finding.field == field
}
