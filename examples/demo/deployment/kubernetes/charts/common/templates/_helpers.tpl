{{/*
The app's settings: .Values.apps.<chart name>.server (from .envs/<env>.yaml).
*/}}
{{- define "common.server" -}}
{{- $app := .Chart.Name -}}
{{- toYaml (dig $app "server" dict (.Values.apps | default dict)) -}}
{{- end -}}

{{/* The image tag: the env's tag, or latest.yaml's when the env says "latest". */}}
{{- define "common.tag" -}}
{{- $app := .Chart.Name -}}
{{- $tag := dig $app "server" "tag" "" (.Values.apps | default dict) | toString -}}
{{- if eq $tag "latest" -}}
{{- $tag = dig $app "server" "tag" "" (.Values.latest | default dict) | toString -}}
{{- end -}}
{{- required (printf "no image tag for %s: set apps.%s.server.tag, or latest.%s.server.tag in latest.yaml" $app $app $app) ($tag | default nil) -}}
{{- end -}}

{{/* The app's secret values: .Values.secrets.<chart name> (from .envs/<env>-secrets.yaml). */}}
{{- define "common.secrets" -}}
{{- toYaml (dig .Chart.Name dict (.Values.secrets | default dict)) -}}
{{- end -}}

{{- define "common.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "common.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "common.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
environment: {{ .Values.env | default "dev" }}
{{- end -}}

{{- define "common.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "common.deployment" -}}
{{- $server := include "common.server" . | fromYaml -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  replicas: {{ $server.replicas | default 1 }}
  {{- with $server.progressDeadlineSeconds }}
  progressDeadlineSeconds: {{ . }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.selectorLabels" . | nindent 8 }}
      {{- with include "common.secrets" . | fromYaml }}
      annotations:
        checksum/secrets: {{ toJson . | sha256sum }}
      {{- end }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ include "common.tag" . }}"
          {{- with .Values.port }}
          ports:
            - name: http
              containerPort: {{ . }}
          {{- end }}
          {{- with $server.env }}
          env:
            {{- range $k, $v := . }}
            - name: {{ $k }}
              value: {{ $v | toString | quote }}
            {{- end }}
          {{- end }}
          {{- if include "common.secrets" . | fromYaml }}
          envFrom:
            - secretRef:
                name: {{ include "common.fullname" . }}
          {{- end }}
          resources:
            {{- toYaml (.Values.resources | default dict) | nindent 12 }}
{{- end -}}

{{- define "common.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "common.fullname" . }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "common.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: 80
      targetPort: http
{{- end -}}

{{- define "common.ingress" -}}
{{- $server := include "common.server" . | fromYaml -}}
{{- with $server.host }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "common.fullname" $ }}
  labels:
    {{- include "common.labels" $ | nindent 4 }}
spec:
  rules:
    - host: {{ . | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "common.fullname" $ }}
                port:
                  name: http
{{- end }}
{{- end -}}

{{- define "common.secret" -}}
{{- with include "common.secrets" . | fromYaml }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "common.fullname" $ }}
  labels:
    {{- include "common.labels" $ | nindent 4 }}
type: Opaque
stringData:
  {{- range $k, $v := . }}
  {{ $k }}: {{ $v | toString | quote }}
  {{- end }}
{{- end }}
{{- end -}}
