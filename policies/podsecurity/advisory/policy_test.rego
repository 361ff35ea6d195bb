package golive.podsecurity.advisory_test

import rego.v1

import data.golive.podsecurity.advisory

agent(pod) := {"metadata": {"name": "a", "namespace": "agents"}, "spec": {"template": {"spec": pod}}}

# Baseline-compliant, not restricted: root user, no seccomp profile, capabilities kept.
root_pod := {"securityContext": {"runAsUser": 0}, "containers": [{
	"name": "agent",
	"securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true},
}]}

host_port_pod := {"containers": [{"name": "agent", "ports": [{"containerPort": 80, "hostPort": 80}]}]}

warned(pod, namespace_labels) := found if {
	found := advisory.deny with input.agent as agent(pod)
		with input.context.namespaceLabels as namespace_labels
}

checks(pod, namespace_labels) := {check |
	some v in warned(pod, namespace_labels)
	[_, check] := regex.find_all_string_submatch_n(`check (\w+);`, v.msg, 1)[0]
}

test_default_level_is_restricted_and_says_so if {
	checks(root_pod, {}) == {"runAsUser", "seccompProfile_restricted", "capabilities_restricted"}
	some v in warned(root_pod, {})
	v.field == "spec.template.spec.securityContext.runAsUser"
	v.msg == concat("", [
		"the pod sets runAsUser: 0, which is root; use a non-zero user id, e.g. 10001 [Pod Security restricted",
		` check runAsUser; golive's default warning level; namespace "agents" sets no pod-security.kubernetes.io/warn`,
		" label]",
	])
}

test_warn_label_sets_the_level if {
	checks(root_pod, {"pod-security.kubernetes.io/warn": "baseline"}) == set()
	checks(host_port_pod, {"pod-security.kubernetes.io/warn": "baseline"}) == {"hostPorts"}
	some v in warned(host_port_pod, {"pod-security.kubernetes.io/warn": "baseline"})
	endswith(v.msg, "[Pod Security baseline check hostPorts; pod-security.kubernetes.io/warn: baseline]")
}

test_stricter_of_warn_and_audit if {
	namespace_labels := {"pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/audit": "restricted"}
	checks(root_pod, namespace_labels) == {"runAsUser", "seccompProfile_restricted", "capabilities_restricted"}
}

test_what_enforce_denies_is_not_repeated if {
	enforce_baseline := {"pod-security.kubernetes.io/enforce": "baseline"}
	fields := {v.field | some v in warned(host_port_pod, enforce_baseline)}
	not "spec.template.spec.containers[0].ports[0].hostPort" in fields
	"spec.template.spec.containers[0].securityContext.seccompProfile.type" in fields
	warned(host_port_pod, {"pod-security.kubernetes.io/enforce": "restricted"}) == set()
}

test_compliant_pod_gets_no_warning if {
	pod := {
		"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
		"containers": [{
			"name": "agent",
			"securityContext": {
				"allowPrivilegeEscalation": false,
				"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
			},
		}],
	}
	warned(pod, {}) == set()
}
