# METADATA
# title: No service-account token unless the agent needs the Kubernetes API
# description: >-
#   An agent that does not declare spec.scope.kubernetesApi.needed sets
#   automountServiceAccountToken false in spec.template and mounts no projected service-account
#   token: a prompt-injected agent then has no credentials for the cluster. An agent that needs
#   the API says why in spec.scope.kubernetesApi.reason.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: security
package golive.security.service_account_token

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

api := pods.as_object(object.get(input, ["agent", "spec", "scope", "kubernetesApi"], {}))

needs_api if object.get(api, "needed", false) == true

declare := "declare spec.scope.kubernetesApi {needed: true, reason: ...} if the agent calls the Kubernetes API"

deny contains violation if {
	not needs_api
	automount := object.get(pods.pod_spec, "automountServiceAccountToken", null)
	automount != false
	violation := {
		"field": "spec.template.spec.automountServiceAccountToken",
		"msg": concat("", [
			"the pod gets a service-account token (automountServiceAccountToken is ", shown(automount),
			") but the agent does not declare that it calls the Kubernetes API; set",
			" automountServiceAccountToken: false, or ", declare,
		]),
	}
}

deny contains violation if {
	not needs_api
	volumes := object.get(pods.pod_spec, "volumes", [])
	is_array(volumes)
	some i, item in volumes
	volume := pods.as_object(item)
	sources := object.get(volume, ["projected", "sources"], [])
	is_array(sources)
	some j, source in sources
	object.get(pods.as_object(source), "serviceAccountToken", null) != null
	violation := {
		"field": sprintf("%s.volumes[%d].projected.sources[%d].serviceAccountToken", [pods.prefix, i, j]),
		"msg": concat("", [
			`volume "`, fields.text(object.get(volume, "name", "")),
			`" mounts a service-account token but the agent does not declare that it calls the Kubernetes API;`,
			" remove the token source, or ", declare,
		]),
	}
}

deny contains violation if {
	needs_api
	fields.blank(object.get(api, "reason", ""))
	violation := {
		"field": "spec.scope.kubernetesApi.reason",
		"msg": "the agent declares that it calls the Kubernetes API but not why; say what it reads or writes there",
	}
}

shown(null) := "not set, and Kubernetes mounts one by default"

shown(x) := fields.text(x) if x != null
