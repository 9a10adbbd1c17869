{{/* Names and labels shared by every template. */}}
{{- define "wva.name" -}}
workload-variant-autoscaler
{{- end -}}

{{- define "wva.fullname" -}}
{{- if contains "wva" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-wva" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "wva.labels" -}}
app.kubernetes.io/name: {{ include "wva.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "wva.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wva.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "wva.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-controller-manager" (include "wva.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create=false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "wva.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) -}}
{{- end -}}

{{- define "wva.caConfigMap" -}}
{{- if .Values.prometheus.caCertConfigMap -}}
{{- .Values.prometheus.caCertConfigMap -}}
{{- else if .Values.prometheus.caCert -}}
{{- printf "%s-prometheus-ca" (include "wva.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* A variant's namespace, min and max (defaults: release namespace, hpa.min/maxReplicas). */}}
{{- define "wva.variantNamespace" -}}
{{- default .root.Release.Namespace .v.namespace -}}
{{- end -}}
