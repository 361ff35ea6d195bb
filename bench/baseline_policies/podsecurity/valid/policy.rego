# METADATA
# title: The pod's security settings have the types and values Kubernetes accepts
# description: >-
#   Every setting the Pod Security Standards read (securityContext of the pod and of each
#   container, host namespaces, host ports, sysctls, volumes, annotations) has the type and one
#   of the values Kubernetes accepts: a user id from 0, a known seccomp, AppArmor or procMount
#   type, true or false for a switch. Kubernetes refuses the Deployment otherwise, and no Pod
#   Security check can vouch for a value it does not understand.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: security
package golive.podsecurity.valid

import rego.v1

import data.golive.lib.podsecurity

deny contains violation if {
	some problem in podsecurity.malformed
	violation := {"field": problem.field, "msg": problem.msg}
}
