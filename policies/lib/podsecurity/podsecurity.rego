# The Pod Security Standards (Kubernetes v1.37, k8s.io/pod-security-admission policy/check_*.go)
# over the agent's pod template, and the namespace's Pod Security levels. No deny rules: the
# golive.podsecurity.* policies report what this computes.
#
# findings: every violation of every check, as {"check", "field", "msg"}: check is Kubernetes'
# check id (e.g. "hostPorts"), field the path into the AgentDeployment, msg what was found and
# how to fix it. violations(level) keeps the checks that Kubernetes applies at that level.
package golive.lib.podsecurity

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

# The Pod Security Standards version these checks implement ("latest" in Kubernetes v1.37).
version := "v1.37"

label_prefix := "pod-security.kubernetes.io/"

baseline_checks := {
	"windowsHostProcess", "hostNamespaces", "privileged", "capabilities_baseline", "hostPathVolumes",
	"hostPorts", "hostProbesAndHostLifecycle", "appArmorProfile", "seLinuxOptions", "procMount",
	"seccompProfile_baseline", "sysctls",
}

restricted_checks := {
	"restrictedVolumes", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser",
	"seccompProfile_restricted", "capabilities_restricted", "procMount_restricted",
}

# At restricted these baseline checks are replaced by a stricter twin (OverrideCheckIDs).
overridden_at_restricted := {"capabilities_baseline", "seccompProfile_baseline", "hostPathVolumes", "procMount"}

checks_at := {
	"privileged": set(),
	"baseline": baseline_checks,
	"restricted": ((baseline_checks - overridden_at_restricted) | restricted_checks),
}

# Levels from least to most strict.
rank := {"privileged": 0, "baseline": 1, "restricted": 2}

violations(level) := {finding |
	some finding in findings
	finding.check in checks_at[level]
}

# ---- The namespace's levels -------------------------------------------------------------

namespace_labels := labels if {
	labels := object.get(input, ["context", "namespaceLabels"], {})
	is_object(labels)
} else := {}

namespace := object.get(input, ["agent", "metadata", "namespace"], "")

# level_of(mode) is the level the namespace's pod-security.kubernetes.io/<mode> label sets:
# undefined without the label; an unknown value is evaluated as restricted, as Kubernetes does.
level_of(mode) := level if {
	value := namespace_labels[label(mode)]
	level := known_level(value)
}

known_level(value) := value if value in object.keys(rank)

else := "restricted"

# label_text(mode) names the label and its value for messages.
label_text(mode) := sprintf("%s%s: %s", [label_prefix, mode, fields.text(namespace_labels[label(mode)])])

label(mode) := concat("", [label_prefix, mode])

# The enforce level: the pods of a violation at this level would be refused.
enforce_level := level_of("enforce")

# The warning level: the stricter of the warn and audit labels; without either, golive's
# default, restricted (Kubernetes' own default is privileged, which warns of nothing).
advisory_modes := [mode | some mode in ["warn", "audit"]; level_of(mode)]

advisory_level := "restricted" if count(advisory_modes) == 0

advisory_level := level if {
	count(advisory_modes) > 0
	level := max_level({level_of(mode) | some mode in advisory_modes})
}

max_level(levels) := level if {
	some level in levels
	every other in levels {
		rank[other] <= rank[level]
	}
}

# advisory_source says where the warning level comes from, for messages.
advisory_source := msg if {
	count(advisory_modes) == 0
	msg := sprintf("golive's default warning level; namespace %q sets no %s label", [namespace, label("warn")])
}

advisory_source := concat(" and ", [label_text(mode) | some mode in advisory_modes]) if count(advisory_modes) > 0

# version_note tells a namespace that pins an older -version label that golive applies v1.37.
version_note(mode) := note if {
	pinned := namespace_labels[concat("", [label_prefix, mode, "-version"])]
	not pinned in {"latest", version}
	note := sprintf(" (golive applies the %s standard; the namespace pins %s)", [version, fields.text(pinned)])
} else := ""

# ---- Shared readers -------------------------------------------------------------------------

spec := pods.pod_spec

annotations := object.get(input, ["agent", "spec", "template", "metadata", "annotations"], {})

pod_sc_path := concat(".", [pods.prefix, "securityContext"])

windows if pods.windows

# User namespaces (hostUsers: false) relax runAsNonRoot, runAsUser and the baseline procMount.
user_namespace if object.get(spec, "hostUsers", true) == false

# sc_value(entry, path) is the container securityContext value at path, null when unset. Each
# entry carries its securityContext as "sc" (an object, {} when unset or not an object), read
# once per container rather than once per check.
sc_value(entry, path) := object.get(entry.sc, path, null)

# The pod's securityContext as an object ({} when unset or not an object).
pod_sc := pods.as_object(object.get(spec, "securityContext", null))

pod_value(path) := object.get(pod_sc, path, null)

sc_field(entry, key) := concat(".", [entry.path, "securityContext", key])

containers := [object.union(entry, {"sc": pods.as_object(object.get(entry.container, "securityContext", null))}) |
	some entry in pods.all_containers
]

# not_false(x): a boolean setting that is anything but false or unset (true, or a wrong type).
not_false(x) if not x in {null, false}

# ---- Baseline -----------------------------------------------------------------------------

# windowsHostProcess
findings contains finding if {
	not_false(pod_value(["windowsOptions", "hostProcess"]))
	finding := {
		"check": "windowsHostProcess",
		"field": concat(".", [pod_sc_path, "windowsOptions.hostProcess"]),
		"msg": sprintf(
			"the pod sets windowsOptions.hostProcess: %s, a Windows HostProcess pod with the node's privileges; remove it",
			[fields.text(pod_value(["windowsOptions", "hostProcess"]))],
		),
	}
}

findings contains finding if {
	some entry in containers
	not_false(sc_value(entry, ["windowsOptions", "hostProcess"]))
	finding := {
		"check": "windowsHostProcess",
		"field": sc_field(entry, "windowsOptions.hostProcess"),
		"msg": sprintf(
			"%s sets windowsOptions.hostProcess: %s, a Windows HostProcess container; remove it",
			[entry.label, fields.text(sc_value(entry, ["windowsOptions", "hostProcess"]))],
		),
	}
}

# hostNamespaces
findings contains finding if {
	some key in ["hostNetwork", "hostPID", "hostIPC"]
	not_false(object.get(spec, key, null))
	finding := {
		"check": "hostNamespaces",
		"field": concat(".", [pods.prefix, key]),
		"msg": sprintf(
			"the pod sets %s: %s and so shares a namespace of the node; remove %s or set it to false",
			[key, fields.text(object.get(spec, key, null)), key],
		),
	}
}

# privileged
findings contains finding if {
	some entry in containers
	not_false(sc_value(entry, ["privileged"]))
	finding := {
		"check": "privileged",
		"field": sc_field(entry, "privileged"),
		"msg": sprintf(
			"%s sets privileged: %s (every capability and the node's devices); remove privileged or set it to false",
			[entry.label, fields.text(sc_value(entry, ["privileged"]))],
		),
	}
}

# capabilities_baseline: the runtime's default capabilities, which a container may add back.
default_capabilities := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
	"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

findings contains finding if {
	some entry in containers
	some j, capability in added(entry)
	not capability in default_capabilities
	finding := {
		"check": "capabilities_baseline",
		"field": sprintf("%s[%d]", [sc_field(entry, "capabilities.add"), j]),
		"msg": sprintf(
			"%s adds the capability %s, which is not in the runtime's default set; remove it from capabilities.add",
			[entry.label, fields.text(capability)],
		),
	}
}

added(entry) := list if {
	list := sc_value(entry, ["capabilities", "add"])
	is_array(list)
} else := []

# hostPathVolumes
volumes := [volume | some volume in object.get(spec, "volumes", [])] if is_array(object.get(spec, "volumes", []))

else := []

volume_path(i) := sprintf("%s.volumes[%d]", [pods.prefix, i])

volume_name(volume) := fields.text(object.get(pods.as_object(volume), "name", ""))

findings contains finding if {
	some i, volume in volumes
	object.get(pods.as_object(volume), "hostPath", null) != null
	finding := {
		"check": "hostPathVolumes",
		"field": concat(".", [volume_path(i), "hostPath"]),
		"msg": sprintf(
			"volume %q mounts a path of the node (hostPath); use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim",
			[volume_name(volume)],
		),
	}
}

# hostPorts
findings contains finding if {
	some entry in containers
	ports := object.get(entry.container, "ports", [])
	is_array(ports)
	some k, port in ports
	host_port := effective_host_port(entry, pods.as_object(port))
	not host_port in {null, 0}
	finding := {
		"check": "hostPorts",
		"field": sprintf("%s.ports[%d].hostPort", [entry.path, k]),
		"msg": sprintf(
			"%s uses hostPort %s, a port of the node; remove hostPort and reach the agent through a Service",
			[entry.label, fields.text(host_port)],
		),
	}
}

# effective_host_port is the hostPort Kubernetes' Pod Security admission sees: with hostNetwork,
# the API server defaults an unset hostPort of a container or init container to its
# containerPort (SetDefaults_PodSpec), so such a pod uses the node's ports too.
effective_host_port(entry, port) := port.containerPort if {
	object.get(spec, "hostNetwork", false) == true
	not startswith(entry.path, concat("", [pods.prefix, ".ephemeralContainers"]))
	object.get(port, "hostPort", null) in {null, 0}
	object.get(port, "containerPort", null) != null
} else := object.get(port, "hostPort", null)

# hostProbesAndHostLifecycle
probe_handlers := [
	["livenessProbe"], ["readinessProbe"], ["startupProbe"],
	["lifecycle", "postStart"], ["lifecycle", "preStop"],
]

findings contains finding if {
	some entry in containers
	some handler in probe_handlers
	probe := object.get(entry.container, handler, null)
	is_object(probe)
	some action in ["httpGet", "tcpSocket"]
	host := object.get(probe, [action, "host"], "")
	not host in {"", null}
	path := array.concat(handler, [action, "host"])
	finding := {
		"check": "hostProbesAndHostLifecycle",
		"field": concat(".", array.concat([entry.path], path)),
		"msg": sprintf(
			"%s's %s sends to the host %s; remove host so that it reaches the pod's own IP",
			[entry.label, concat(".", array.concat(handler, [action])), fields.text(host)],
		),
	}
}

# appArmorProfile
allowed_profile_types := {"RuntimeDefault", "Localhost"}

findings contains finding if {
	profile := pod_value(["appArmorProfile"])
	profile != null
	not object.get(pods.as_object(profile), "type", null) in allowed_profile_types
	finding := {
		"check": "appArmorProfile",
		"field": concat(".", [pod_sc_path, "appArmorProfile.type"]),
		"msg": sprintf(
			"the pod's AppArmor profile type is %s; set appArmorProfile.type to RuntimeDefault or Localhost",
			[fields.text(object.get(pods.as_object(profile), "type", null))],
		),
	}
}

findings contains finding if {
	some entry in containers
	profile := sc_value(entry, ["appArmorProfile"])
	profile != null
	not object.get(pods.as_object(profile), "type", null) in allowed_profile_types
	finding := {
		"check": "appArmorProfile",
		"field": sc_field(entry, "appArmorProfile.type"),
		"msg": sprintf(
			"%s's AppArmor profile type is %s; set appArmorProfile.type to RuntimeDefault or Localhost",
			[entry.label, fields.text(object.get(pods.as_object(profile), "type", null))],
		),
	}
}

apparmor_annotation_prefix := "container.apparmor.security.beta.kubernetes.io/"

findings contains finding if {
	is_object(annotations)
	some key, value in annotations
	startswith(key, apparmor_annotation_prefix)
	not allowed_apparmor_annotation(value)
	finding := {
		"check": "appArmorProfile",
		"field": sprintf("spec.template.metadata.annotations[%s]", [key]),
		"msg": sprintf(
			"the annotation %s sets the AppArmor profile %s; use runtime/default or localhost/<profile>",
			[key, fields.text(value)],
		),
	}
}

allowed_apparmor_annotation(value) if value in {"", "runtime/default"}

allowed_apparmor_annotation(value) if startswith(value, "localhost/")

# seLinuxOptions
selinux_types := {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

selinux_problems(options) := [problem |
	some key in ["type", "user", "role"]
	value := object.get(pods.as_object(options), key, "")
	problem := selinux_problem(key, value)
]

selinux_problem("type", value) := sprintf("type %s", [fields.text(value)]) if not value in selinux_types

selinux_problem(key, value) := sprintf("%s %s", [key, fields.text(value)]) if {
	key in {"user", "role"}
	value != ""
}

findings contains finding if {
	options := pod_value(["seLinuxOptions"])
	options != null
	problems := selinux_problems(options)
	count(problems) > 0
	finding := {
		"check": "seLinuxOptions",
		"field": concat(".", [pod_sc_path, "seLinuxOptions"]),
		"msg": sprintf("the pod sets the SELinux %s; %s", [concat(", ", problems), selinux_fix]),
	}
}

findings contains finding if {
	some entry in containers
	options := sc_value(entry, ["seLinuxOptions"])
	options != null
	problems := selinux_problems(options)
	count(problems) > 0
	finding := {
		"check": "seLinuxOptions",
		"field": sc_field(entry, "seLinuxOptions"),
		"msg": sprintf("%s sets the SELinux %s; %s", [entry.label, concat(", ", problems), selinux_fix]),
	}
}

selinux_fix := "set no user or role, and a type of container_t, container_init_t, container_kvm_t or container_engine_t"

# procMount and procMount_restricted (the same test; only the baseline one is relaxed for user
# namespaces)
proc_mount_findings contains finding if {
	some entry in containers
	proc_mount := sc_value(entry, ["procMount"])
	not proc_mount in {null, "Default"}
	finding := {
		"field": sc_field(entry, "procMount"),
		"msg": sprintf(
			"%s sets procMount: %s, which unmasks /proc; remove procMount or set it to Default",
			[entry.label, fields.text(proc_mount)],
		),
	}
}

findings contains object.union(finding, {"check": "procMount"}) if {
	not user_namespace
	some finding in proc_mount_findings
}

findings contains object.union(finding, {"check": "procMount_restricted"}) if {
	some finding in proc_mount_findings
}

# seccompProfile_baseline (the annotations are not read since v1.19)
seccomp_types := {"RuntimeDefault", "Localhost"}

seccomp_type(profile) := object.get(pods.as_object(profile), "type", null)

pod_seccomp := pod_value(["seccompProfile"])

# Windows pods are exempt from the restricted seccomp check (v1.25).
seccomp_checks contains "seccompProfile_baseline"

seccomp_checks contains "seccompProfile_restricted" if not windows

findings contains finding if {
	some check in seccomp_checks
	pod_seccomp != null
	not seccomp_type(pod_seccomp) in seccomp_types
	finding := {
		"check": check,
		"field": concat(".", [pod_sc_path, "seccompProfile.type"]),
		"msg": sprintf("the pod's seccomp profile type is %s; %s", [fields.text(seccomp_type(pod_seccomp)), seccomp_fix]),
	}
}

findings contains finding if {
	some check in seccomp_checks
	some entry in containers
	profile := sc_value(entry, ["seccompProfile"])
	profile != null
	not seccomp_type(profile) in seccomp_types
	finding := {
		"check": check,
		"field": sc_field(entry, "seccompProfile.type"),
		"msg": sprintf("%s's seccomp profile type is %s; %s", [entry.label, fields.text(seccomp_type(profile)), seccomp_fix]),
	}
}

seccomp_fix := "set seccompProfile.type to RuntimeDefault (or Localhost with a profile)"

# sysctls: the namespaced sysctls that are safe at v1.37.
safe_sysctls := {
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
}

findings contains finding if {
	sysctls := pod_value(["sysctls"])
	is_array(sysctls)
	some i, sysctl in sysctls
	name := object.get(pods.as_object(sysctl), "name", null)
	not name in safe_sysctls
	finding := {
		"check": "sysctls",
		"field": sprintf("%s.sysctls[%d].name", [pod_sc_path, i]),
		"msg": sprintf(
			"the pod sets the sysctl %s, which is not in the safe set; remove it (safe: %s)",
			[fields.text(name), concat(", ", sort(safe_sysctls))],
		),
	}
}

# ---- Restricted ---------------------------------------------------------------------------

# restrictedVolumes: the volume types a restricted pod may use.
allowed_volume_types := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected",
	"secret",
}

findings contains finding if {
	some i, item in volumes
	volume := pods.as_object(item)
	not allowed_volume(volume)
	finding := {
		"check": "restrictedVolumes",
		"field": volume_field(i, volume),
		"msg": sprintf(
			"volume %q is of type %s; a restricted pod uses only %s volumes",
			[volume_name(volume), volume_type(volume), concat(", ", sort(allowed_volume_types))],
		),
	}
}

allowed_volume(volume) if {
	some key in allowed_volume_types
	object.get(volume, key, null) != null
}

# A volume without a source is an emptyDir: the API server defaults it so (SetDefaults_Volume).
allowed_volume(volume) if count(volume_sources(volume)) == 0

# The volume's source: its first key that is neither its name nor null.
volume_sources(volume) := sort([key | some key, value in volume; key != "name"; value != null])

volume_type(volume) := volume_sources(volume)[0] if count(volume_sources(volume)) > 0

else := "unknown"

volume_field(i, volume) := concat(".", [volume_path(i), volume_sources(volume)[0]]) if count(volume_sources(volume)) > 0

else := volume_path(i)

# allowPrivilegeEscalation
findings contains finding if {
	not windows
	some entry in containers
	setting := sc_value(entry, ["allowPrivilegeEscalation"])
	setting != false
	finding := {
		"check": "allowPrivilegeEscalation",
		"field": sc_field(entry, "allowPrivilegeEscalation"),
		"msg": sprintf(
			"%s may gain more privileges than its process started with (allowPrivilegeEscalation is %s); set it to false",
			[entry.label, shown(setting)],
		),
	}
}

shown(null) := "not set"

shown(x) := fields.text(x) if x != null

# runAsNonRoot
pod_run_as_non_root := pod_value(["runAsNonRoot"])

findings contains finding if {
	not user_namespace
	not pod_run_as_non_root in {null, true}
	finding := {
		"check": "runAsNonRoot",
		"field": concat(".", [pod_sc_path, "runAsNonRoot"]),
		"msg": sprintf(
			"the pod sets runAsNonRoot: %s; set runAsNonRoot: true so that no container runs as root",
			[fields.text(pod_run_as_non_root)],
		),
	}
}

findings contains finding if {
	not user_namespace
	some entry in containers
	setting := sc_value(entry, ["runAsNonRoot"])
	not non_root(setting)
	finding := {
		"check": "runAsNonRoot",
		"field": sc_field(entry, "runAsNonRoot"),
		"msg": sprintf(
			"%s may run as root (runAsNonRoot is %s); set runAsNonRoot: true in %s.securityContext or in its own",
			[entry.label, shown(setting), pods.prefix],
		),
	}
}

# non_root(setting): the container's own setting, or the pod's when it sets none, is true.
non_root(true)

non_root(null) if pod_run_as_non_root == true

# runAsUser
findings contains finding if {
	not user_namespace
	pod_value(["runAsUser"]) == 0
	finding := {
		"check": "runAsUser",
		"field": concat(".", [pod_sc_path, "runAsUser"]),
		"msg": "the pod sets runAsUser: 0, which is root; use a non-zero user id, e.g. 10001",
	}
}

findings contains finding if {
	not user_namespace
	some entry in containers
	sc_value(entry, ["runAsUser"]) == 0
	finding := {
		"check": "runAsUser",
		"field": sc_field(entry, "runAsUser"),
		"msg": sprintf("%s sets runAsUser: 0, which is root; use a non-zero user id, e.g. 10001", [entry.label]),
	}
}

# seccompProfile_restricted: a container without a profile of its own needs a valid pod one.
findings contains finding if {
	not windows
	not seccomp_type(pod_seccomp) in seccomp_types
	some entry in containers
	sc_value(entry, ["seccompProfile"]) == null
	finding := {
		"check": "seccompProfile_restricted",
		"field": sc_field(entry, "seccompProfile.type"),
		"msg": sprintf(
			"%s runs without a seccomp profile; set seccompProfile.type: RuntimeDefault in %s.securityContext or in its own",
			[entry.label, pods.prefix],
		),
	}
}

# capabilities_restricted
findings contains finding if {
	not windows
	some entry in containers
	not drops_all(entry)
	finding := {
		"check": "capabilities_restricted",
		"field": sc_field(entry, "capabilities.drop"),
		"msg": sprintf(
			"%s keeps the runtime's default Linux capabilities (drop is %s); set securityContext.capabilities.drop: [ALL]",
			[entry.label, fields.text(object.get(entry.container, ["securityContext", "capabilities", "drop"], []))],
		),
	}
}

findings contains finding if {
	not windows
	some entry in containers
	some j, capability in added(entry)
	capability != "NET_BIND_SERVICE"
	finding := {
		"check": "capabilities_restricted",
		"field": sprintf("%s[%d]", [sc_field(entry, "capabilities.add"), j]),
		"msg": sprintf(
			"%s adds the capability %s; a restricted container may add back only NET_BIND_SERVICE",
			[entry.label, fields.text(capability)],
		),
	}
}

drops_all(entry) if {
	dropped := sc_value(entry, ["capabilities", "drop"])
	is_array(dropped)
	"ALL" in dropped
}

# ---- Malformed settings ---------------------------------------------------------------------
# malformed: every setting these checks read whose type or value Kubernetes refuses (the
# Deployment would be refused), as {"field", "msg"}: reported on their own, so that a value no
# check understands can never pass as compliant.

enums := {
	"seccompType": {"RuntimeDefault", "Localhost", "Unconfined"},
	"appArmorType": {"RuntimeDefault", "Localhost", "Unconfined"},
	"procMount": {"Default", "Unmasked"},
}

expected := {
	"boolean": "true or false",
	"object": "an object",
	"array": "a list",
	"string": "a string",
	"strings": "a list of strings",
	"user": "a user id from 0 to 2147483647",
	"port": "a port number from 0 to 65535",
	"seccompType": "RuntimeDefault, Localhost or Unconfined",
	"appArmorType": "RuntimeDefault, Localhost or Unconfined",
	"procMount": "Default or Unmasked",
}

fits("boolean", value) if is_boolean(value)

fits("object", value) if is_object(value)

fits("array", value) if is_array(value)

fits("string", value) if is_string(value)

fits("strings", value) if {
	is_array(value)
	every item in value {
		is_string(item)
	}
}

fits("user", value) if whole_number_within(value, 0, 2147483647)

fits("port", value) if whole_number_within(value, 0, 65535)

fits(kind, value) if value in enums[kind]

whole_number_within(value, low, high) if {
	is_number(value)
	value == round(value)
	value >= low
	value <= high
}

# The securityContext settings these checks read, at both levels where both have them: the
# kind of each top-level key, and of each key one level down ("seccompProfile.type").
sc_kinds := {
	"runAsUser": "user",
	"runAsNonRoot": "boolean",
	"seccompProfile": "object",
	"appArmorProfile": "object",
	"seLinuxOptions": "object",
	"windowsOptions": "object",
}

sc_nested_kinds := {
	"seccompProfile": {"type": "seccompType"},
	"appArmorProfile": {"type": "appArmorType"},
	"seLinuxOptions": {"type": "string", "user": "string", "role": "string"},
	"windowsOptions": {"hostProcess": "boolean"},
}

container_sc_kinds := object.union(sc_kinds, {
	"privileged": "boolean",
	"allowPrivilegeEscalation": "boolean",
	"procMount": "procMount",
	"capabilities": "object",
})

container_sc_nested_kinds := object.union(sc_nested_kinds, {"capabilities": {"add": "strings", "drop": "strings"}})

pod_sc_kinds := object.union(sc_kinds, {"sysctls": "array"})

pod_kinds := {
	"hostNetwork": "boolean", "hostPID": "boolean", "hostIPC": "boolean", "hostUsers": "boolean",
	"securityContext": "object", "volumes": "array",
	"containers": "array", "initContainers": "array", "ephemeralContainers": "array",
}

# slots: {"field", "value", "kind"} for every such setting that is set (null is unset). Each
# walks the keys an object has and looks their kind up, rather than reading every known key.
slots contains {"field": concat(".", [pods.prefix, key]), "value": value, "kind": kind} if {
	some key, value in spec
	kind := pod_kinds[key]
	value != null
}

slots contains {"field": "spec.template.metadata.annotations", "value": annotations, "kind": "object"} if {
	annotations != null
}

slots contains {"field": concat(".", [pod_sc_path, key]), "value": value, "kind": kind} if {
	some key, value in pod_sc
	kind := pod_sc_kinds[key]
	value != null
}

slots contains {"field": concat(".", [pod_sc_path, top, key]), "value": value, "kind": kind} if {
	some top, inner in pod_sc
	is_object(inner)
	some key, value in inner
	kind := sc_nested_kinds[top][key]
	value != null
}

slots contains {"field": sc_field(entry, ""), "value": value, "kind": "object"} if {
	some entry in containers
	value := object.get(entry.container, "securityContext", null)
	value != null
}

slots contains {"field": sc_field(entry, key), "value": value, "kind": kind} if {
	some entry in containers
	some key, value in entry.sc
	kind := container_sc_kinds[key]
	value != null
}

slots contains {"field": sc_field(entry, concat(".", [top, key])), "value": value, "kind": kind} if {
	some entry in containers
	some top, inner in entry.sc
	is_object(inner)
	some key, value in inner
	kind := container_sc_nested_kinds[top][key]
	value != null
}

# A container that is not an object would be read as one that sets nothing.
slots contains {"field": sprintf("%s.%s[%d]", [pods.prefix, kind, i]), "value": item, "kind": "object"} if {
	some kind in pods.all_kinds
	list := object.get(spec, kind, [])
	is_array(list)
	some i, item in list
}

slots contains {"field": concat(".", [entry.path, "ports"]), "value": value, "kind": "array"} if {
	some entry in containers
	value := object.get(entry.container, "ports", null)
	value != null
}

slots contains {"field": sprintf("%s.ports[%d].hostPort", [entry.path, k]), "value": value, "kind": "port"} if {
	some entry in containers
	ports := object.get(entry.container, "ports", [])
	is_array(ports)
	some k, port in ports
	value := object.get(pods.as_object(port), "hostPort", null)
	value != null
}

slots contains {"field": sprintf("%s.sysctls[%d].name", [pod_sc_path, i]), "value": value, "kind": "string"} if {
	sysctls := pod_value(["sysctls"])
	is_array(sysctls)
	some i, sysctl in sysctls
	value := object.get(pods.as_object(sysctl), "name", null)
}

malformed contains {"field": field, "msg": msg} if {
	some slot in slots
	type_name(slot.value) != slot.kind # a boolean, object, array or string where one belongs fits
	not fits(slot.kind, slot.value)
	field := trim_suffix(slot.field, ".")
	msg := sprintf("%s is %s; Kubernetes expects %s", [field, fields.text(slot.value), expected[slot.kind]])
}
