package golive.podsecurity.enforced_test

import rego.v1

import data.golive.podsecurity.enforced

compliant_container := {
	"name": "agent",
	"securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
}

restricted_pod := {
	"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [compliant_container],
}

agent(pod) := {"metadata": {"name": "a", "namespace": "agents"}, "spec": {"template": {"spec": pod}}}

labels(level) := {"pod-security.kubernetes.io/enforce": level}

denied(pod, namespace_labels) := found if {
	found := enforced.deny with input.agent as agent(pod)
		with input.context.namespaceLabels as namespace_labels
}

fields(pod, namespace_labels) := {v.field | some v in denied(pod, namespace_labels)}

host_port_pod := object.union(restricted_pod, {"containers": [object.union(
	compliant_container,
	{"ports": [{"containerPort": 8080, "hostPort": 8080}]},
)]})

root_pod := json.patch(restricted_pod, [{"op": "add", "path": "/securityContext/runAsUser", "value": 0}])

test_compliant_pod_passes_restricted if {
	fields(restricted_pod, labels("restricted")) == set()
}

test_no_enforce_label_denies_nothing if {
	fields(host_port_pod, {}) == set()
	fields(host_port_pod, {"pod-security.kubernetes.io/warn": "baseline"}) == set()
}

test_host_port_denied_at_baseline_with_check_and_namespace if {
	violations := denied(host_port_pod, labels("baseline"))
	count(violations) == 1
	some v in violations
	v.field == "spec.template.spec.containers[0].ports[0].hostPort"
	v.msg == concat("", [
		`container "agent" uses hostPort 8080, a port of the node; remove hostPort and reach the agent through a`,
		` Service [Pod Security baseline check hostPorts; namespace "agents" has pod-security.kubernetes.io/enforce:`,
		" baseline, so Kubernetes would refuse the pods]",
	])
}

test_run_as_root_denied_at_restricted_only if {
	fields(root_pod, labels("baseline")) == set()
	fields(root_pod, labels("restricted")) == {"spec.template.spec.securityContext.runAsUser"}
}

test_privileged_level_denies_nothing if {
	fields(host_port_pod, labels("privileged")) == set()
}

test_unknown_level_is_evaluated_as_restricted if {
	fields(root_pod, labels("strict")) == {"spec.template.spec.securityContext.runAsUser"}
}

test_pinned_older_version_is_named if {
	namespace_labels := object.union(labels("baseline"), {"pod-security.kubernetes.io/enforce-version": "v1.30"})
	some v in denied(host_port_pod, namespace_labels)
	contains(v.msg, "(golive applies the v1.37 standard; the namespace pins v1.30)")
}

test_windows_pod_is_exempt_from_linux_only_checks if {
	windows_pod := {
		"os": {"name": "windows"},
		"securityContext": {"runAsNonRoot": true},
		"containers": [{"name": "agent"}],
	}
	fields(windows_pod, labels("restricted")) == set()
	linux_pod := object.union(windows_pod, {"os": {"name": "linux"}})
	fields(linux_pod, labels("restricted")) == {
		"spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
		"spec.template.spec.containers[0].securityContext.capabilities.drop",
		"spec.template.spec.containers[0].securityContext.seccompProfile.type",
	}
}

test_user_namespace_relaxes_run_as_checks if {
	pod := object.union(root_pod, {"hostUsers": false, "securityContext": {"runAsNonRoot": false, "runAsUser": 0}})
	fields(pod, labels("restricted")) == set()
	fields(object.union(pod, {"hostUsers": true}), labels("restricted")) == {
		"spec.template.spec.securityContext.runAsNonRoot",
		"spec.template.spec.containers[0].securityContext.runAsNonRoot",
		"spec.template.spec.securityContext.runAsUser",
	}
}

test_every_container_kind_is_checked if {
	pod := object.union(restricted_pod, {
		"initContainers": [object.union(compliant_container, {"name": "init", "securityContext": {"privileged": true}})],
		"ephemeralContainers": [{"name": "debug", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}],
	})
	fields(pod, labels("baseline")) == {
		"spec.template.spec.initContainers[0].securityContext.privileged",
		"spec.template.spec.ephemeralContainers[0].securityContext.capabilities.add[0]",
	}
}

test_baseline_checks_of_the_pod if {
	pod := object.union(restricted_pod, {
		"hostIPC": true,
		"securityContext": {
			"seccompProfile": {"type": "Unconfined"},
			"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_rmem", "value": "1"}],
			"seLinuxOptions": {"type": "spc_t"},
			"appArmorProfile": {"type": "Unconfined"},
			"windowsOptions": {"hostProcess": true},
		},
		"volumes": [{"name": "node", "hostPath": {"path": "/"}}],
	})
	fields(pod, labels("baseline")) == {
		"spec.template.spec.hostIPC",
		"spec.template.spec.securityContext.seccompProfile.type",
		"spec.template.spec.securityContext.sysctls[0].name",
		"spec.template.spec.securityContext.seLinuxOptions",
		"spec.template.spec.securityContext.appArmorProfile.type",
		"spec.template.spec.securityContext.windowsOptions.hostProcess",
		"spec.template.spec.volumes[0].hostPath",
	}
}

test_baseline_checks_of_a_container if {
	container := {
		"name": "agent",
		"securityContext": {"procMount": "Unmasked", "seLinuxOptions": {"user": "root"}},
		"readinessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
		"lifecycle": {"preStop": {"tcpSocket": {"host": "node", "port": 1}}},
	}
	fields({"containers": [container]}, labels("baseline")) == {
		"spec.template.spec.containers[0].securityContext.procMount",
		"spec.template.spec.containers[0].securityContext.seLinuxOptions",
		"spec.template.spec.containers[0].readinessProbe.httpGet.host",
		"spec.template.spec.containers[0].lifecycle.preStop.tcpSocket.host",
	}
}

test_apparmor_annotation_checked if {
	a := {"metadata": {"name": "a", "namespace": "agents"}, "spec": {"template": {
		"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/agent": "unconfined"}},
		"spec": restricted_pod,
	}}}
	violations := enforced.deny with input.agent as a with input.context.namespaceLabels as labels("baseline")
	{v.field | some v in violations} == {
		"spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/agent]",
	}
}

test_restricted_volume_types if {
	pod := object.union(restricted_pod, {"volumes": [
		{"name": "scratch", "emptyDir": {}},
		{"name": "defaulted"},
		{"name": "share", "nfs": {"server": "nfs", "path": "/"}},
	]})
	fields(pod, labels("baseline")) == set()
	fields(pod, labels("restricted")) == {"spec.template.spec.volumes[2].nfs"}
}

test_host_network_makes_container_ports_host_ports if {
	pod := object.union(restricted_pod, {
		"hostNetwork": true,
		"containers": [object.union(compliant_container, {"ports": [{"containerPort": 8000}]})],
		"ephemeralContainers": [object.union(compliant_container, {"name": "debug", "ports": [{"containerPort": 9}]})],
	})
	fields(pod, labels("baseline")) == {
		"spec.template.spec.hostNetwork",
		"spec.template.spec.containers[0].ports[0].hostPort",
	}
}
