{{- define "errors.need" -}}
{{ required "errors.need: value .Values.needed is required" .Values.needed }}
{{- end -}}
