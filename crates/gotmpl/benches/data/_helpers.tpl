{{- define "c.fullname" -}}
{{- if .Values.fullnameOverride -}}{{ .Values.fullnameOverride }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name }}{{- end -}}
{{- end -}}

{{- define "c.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | printf "%q" }}
{{- range $k, $v := .Values.extraLabels }}
{{ $k }}: {{ $v | printf "%v" }}
{{- end }}
{{- end -}}
