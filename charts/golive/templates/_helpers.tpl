{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "golive.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name: the release name, suffixed with the chart name unless it contains it. */}}
{{- define "golive.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Recommended labels (app.kubernetes.io/*), for every object. Call with (dict "ctx" $ "component" "operator"). */}}
{{- define "golive.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "golive.selectorLabels" .ctx }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: golive
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end -}}

{{/* Selector labels: stable across upgrades (no version). */}}
{{- define "golive.selectorLabels" -}}
app.kubernetes.io/name: {{ include "golive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "golive.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "golive.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "golive.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Service in front of the webhook and the metrics port. */}}
{{- define "golive.serviceName" -}}
{{- include "golive.fullname" . -}}
{{- end -}}

{{/* The Secret that holds the webhook serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "golive.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "golive.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* DNS names the webhook serving certificate is valid for. */}}
{{- define "golive.webhookDNSNames" -}}
{{- $svc := include "golive.serviceName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{/* Fail the render on values that the schema cannot express. */}}
{{- define "golive.validate" -}}
{{- if and (eq .Values.engine.type "remote") (not .Values.engine.opaUrl) -}}
{{- fail "engine.opaUrl is required when engine.type is remote" -}}
{{- end -}}
{{- end -}}
