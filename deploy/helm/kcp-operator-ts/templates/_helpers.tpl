{{/* The image both containers run: the kustomize base's, with the tag defaulting to appVersion. */}}
{{- define "kcp-operator-ts.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Flags both processes take the same way (leader election, log level). */}}
{{- define "kcp-operator-ts.commonArgs" -}}
{{- if .Values.leaderElection.enabled }}
- --leader-elect
{{- end }}
{{- with .Values.logLevel }}
- --log-level={{ . }}
{{- end }}
{{- end }}

{{/* Where the operator's Lease lives. */}}
{{- define "kcp-operator-ts.leaseNamespace" -}}
{{ .Values.leaderElection.namespace | default .Release.Namespace }}
{{- end }}
