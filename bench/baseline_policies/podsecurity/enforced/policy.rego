# METADATA
# title: The pods pass the namespace's enforced Pod Security level
# description: >-
#   Where the agent's namespace carries pod-security.kubernetes.io/enforce (baseline or
#   restricted), the pod template passes every check of the Pod Security Standards (Kubernetes
#   v1.37) at that level: otherwise Kubernetes' Pod Security admission refuses the pods and the
#   rollout stalls after golive said yes. An unknown level is evaluated as restricted, as
#   Kubernetes does.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: security
package golive.podsecurity.enforced

import rego.v1

import data.golive.lib.podsecurity

deny contains violation if {
	level := podsecurity.enforce_level
	some finding in podsecurity.violations(level)
	violation := {
		"field": finding.field,
		"msg": sprintf("%s [Pod Security %s check %s; namespace %q has %s%s, so Kubernetes would refuse the pods]", [
			finding.msg, level, finding.check, podsecurity.namespace, podsecurity.label_text("enforce"),
			podsecurity.version_note("enforce"),
		]),
	}
}
