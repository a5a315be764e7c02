{{/* Overrides the library's name helper: the parent's define wins. */}}
{{- define "lib.name" -}}
umbrella-{{ .Chart.Name }}
{{- end -}}

{{- define "umbrella.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
