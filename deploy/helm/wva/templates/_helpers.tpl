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
{{- else if or .Values.prometheus.caCert (and .Values.wva .Values.wva.prometheus .Values.wva.prometheus.caCert) -}}
{{- printf "%s-prometheus-ca" (include "wva.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* A variant's namespace, min and max (defaults: release namespace, hpa.min/maxReplicas). */}}
{{- define "wva.variantNamespace" -}}
{{- default .root.Release.Namespace .v.namespace -}}
{{- end -}}

{{/*
The values in effect: this chart's keys, with upstream WVA v0.5 chart keys mapped onto them
(docs/migrate-from-upstream.md). Upstream keys win when given, so an upstream values file works
unchanged: wva.prometheus.baseURL -> prometheus.url, wva.prometheus.tls.insecureSkipVerify ->
prometheus.tls.insecureSkipVerify, wva.prometheus.caCert -> prometheus.caCert,
wva.prometheus.tls.caCertPath -> PROMETHEUS_CA_CERT_PATH (when no CA is given to the chart),
wva.reconcileInterval -> reconcileInterval, wva.capacityScaling.{default,overrides} ->
capacityScaling.*, wva.metrics.port -> metrics.port, wva.metrics.secure -> metrics.secure,
wva.controllerInstance ->
controllerInstance, hpa.targetAverageValue -> the HPA target, and va.enabled with llmd.* -> one
more entry of variants. Use: {{- $V := include "wva.values" . | fromYaml }}
*/}}
{{- define "wva.values" -}}
{{- $v := deepCopy .Values -}}
{{- $w := default dict .Values.wva -}}
{{- $wp := default dict $w.prometheus -}}
{{- $wtls := default dict $wp.tls -}}
{{- with $wp.baseURL }}{{ $_ := set $v.prometheus "url" . }}{{ end -}}
{{- if hasKey $wtls "insecureSkipVerify" }}{{ $_ := set $v.prometheus.tls "insecureSkipVerify" $wtls.insecureSkipVerify }}{{ end -}}
{{- with $wp.caCert }}{{ $_ := set $v.prometheus "caCert" . }}{{ end -}}
{{- with $wtls.caCertPath }}{{ $_ := set $v.prometheus "caCertPath" . }}{{ end -}}
{{- with $w.reconcileInterval }}{{ $_ := set $v "reconcileInterval" . }}{{ end -}}
{{- with $w.controllerInstance }}{{ $_ := set $v "controllerInstance" . }}{{ end -}}
{{- with (default dict $w.metrics).port }}{{ $_ := set $v.metrics "port" . }}{{ end -}}
{{- if hasKey (default dict $w.metrics) "secure" }}{{ $_ := set $v.metrics "secure" $w.metrics.secure }}{{ end -}}
{{- $wcs := default dict $w.capacityScaling -}}
{{- with $wcs.default }}{{ $_ := set $v.capacityScaling "default" (merge (deepCopy .) $v.capacityScaling.default) }}{{ end -}}
{{- with $wcs.overrides }}{{ $_ := set $v.capacityScaling "overrides" (merge (deepCopy .) (default dict $v.capacityScaling.overrides)) }}{{ end -}}
{{- $va := default dict .Values.va -}}
{{- if $va.enabled -}}
{{- $l := default dict .Values.llmd -}}
{{- $entry := dict "name" (required "va.enabled needs llmd.deploymentName" $l.deploymentName) "modelID" (required "va.enabled needs llmd.modelID" $l.modelID) "variantCost" (default "10.0" $va.variantCost | toString) -}}
{{- with $l.namespace }}{{ $_ := set $entry "namespace" . }}{{ end -}}
{{- with $va.accelerator }}{{ $_ := set $entry "accelerator" . }}{{ end -}}
{{- $_ := set $v "variants" (append (default list $v.variants) $entry) -}}
{{- end -}}
{{- toYaml $v -}}
{{- end -}}

{{/* Upstream v0.5 chart keys accepted but without effect here (listed in NOTES when set). */}}
{{- define "wva.ignoredUpstreamKeys" -}}
{{- $w := default dict .Values.wva -}}
{{- $out := list -}}
{{- range $k := list "enabled" "image" "imagePullPolicy" "namespaceScoped" "configMap" "limitedMode" "nodeSelector" "scaleToZero" -}}
{{- if hasKey $w $k }}{{ $out = append $out (printf "wva.%s" $k) }}{{ end -}}
{{- end -}}
{{- with $w.metrics }}{{ if hasKey . "enabled" }}{{ $out = append $out "wva.metrics.enabled" }}{{ end }}{{ end -}}
{{- with $w.prometheus }}{{ range $k := list "monitoringNamespace" "serviceAccountName" }}{{ if hasKey $.Values.wva.prometheus $k }}{{ $out = append $out (printf "wva.prometheus.%s" $k) }}{{ end }}{{ end }}{{ end -}}
{{- if .Values.controller }}{{ $out = append $out "controller" }}{{ end -}}
{{- if .Values.vllmService }}{{ $out = append $out "vllmService" }}{{ end -}}
{{- with .Values.va }}{{ if hasKey . "sloTpot" }}{{ $out = append $out "va.sloTpot" }}{{ end }}{{ if hasKey . "sloTtft" }}{{ $out = append $out "va.sloTtft" }}{{ end }}{{ end -}}
{{- with .Values.llmd }}{{ if hasKey . "modelName" }}{{ $out = append $out "llmd.modelName" }}{{ end }}{{ end -}}
{{- join ", " $out -}}
{{- end -}}
