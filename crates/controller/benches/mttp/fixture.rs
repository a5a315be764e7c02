//! The benchmark's git repository: one Helm chart (Deployment, Service, ServiceAccount,
//! Ingress, podinfo-like) under `charts/app`, and one values file per app under
//! `apps/app-NNNN/values.yaml`, laid out as a monorepo; plus the Application of each app.

use std::path::{Path, PathBuf};
use std::process::Command;

const CHART_YAML: &str = r#"apiVersion: v2
name: app
description: A web service (Deployment, Service, ServiceAccount, Ingress)
type: application
version: 1.0.0
appVersion: "6.7.0"
"#;

const VALUES_YAML: &str = r#"replicaCount: 1
image:
  repository: ghcr.io/stefanprodan/podinfo
  tag: ""
  pullPolicy: IfNotPresent
serviceAccount:
  create: true
  annotations: {}
podAnnotations: {}
service:
  type: ClusterIP
  port: 9898
ingress:
  enabled: true
  className: nginx
  host: ""
  path: /
resources:
  requests:
    cpu: 10m
    memory: 16Mi
  limits:
    memory: 64Mi
"#;

const HELPERS_TPL: &str = r#"{{- define "app.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
"#;

const DEPLOYMENT_YAML: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        {{- include "app.selectorLabels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "app.fullname" . }}
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#;

const SERVICE_YAML: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{- include "app.selectorLabels" . | nindent 4 }}
"#;

const SERVICEACCOUNT_YAML: &str = r#"{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
"#;

const INGRESS_YAML: &str = r#"{{- if .Values.ingress.enabled -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  ingressClassName: {{ .Values.ingress.className }}
  rules:
    - host: {{ .Values.ingress.host | default (printf "%s.example.com" .Release.Name) | quote }}
      http:
        paths:
          - path: {{ .Values.ingress.path }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "app.fullname" . }}
                port:
                  number: {{ .Values.service.port }}
{{- end }}
"#;

/// The name of app `i` (0-based).
pub fn app_name(i: usize) -> String {
    format!("app-{:04}", i + 1)
}

/// The values file of an app with image tag `tag`.
pub fn app_values(name: &str, tag: &str) -> String {
    format!(
        "image:\n  tag: \"{tag}\"\ningress:\n  host: {name}.example.com\npodAnnotations:\n  team: team-{}\n",
        name.len() % 7
    )
}

/// Path of an app's values file in the repository.
pub fn values_path(name: &str) -> String {
    format!("apps/{name}/values.yaml")
}

/// Runs git in `dir`; fails with git's stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()
        .map_err(|e| format!("git {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A work tree pushing to a bare repository served over HTTP.
pub struct Repo {
    /// The work tree.
    pub work: PathBuf,
}

impl Repo {
    /// Creates `<served>/mttp.git` (bare) and a work tree with the chart and `apps` values
    /// files, commits and pushes; returns the repo and the commit.
    pub fn create(root: &Path, served: &Path, apps: usize) -> Result<(Repo, String), String> {
        let bare = served.join("mttp.git");
        std::fs::create_dir_all(&bare).map_err(|e| e.to_string())?;
        git(&bare, &["init", "--bare", "-q", "-b", "main"])?;
        git(&bare, &["config", "http.receivepack", "false"])?;
        let work = root.join("work");
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        git(&work, &["init", "-q", "-b", "main"])?;
        let write = |rel: &str, text: &str| -> Result<(), String> {
            let p = work.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
        };
        write("charts/app/Chart.yaml", CHART_YAML)?;
        write("charts/app/values.yaml", VALUES_YAML)?;
        write("charts/app/templates/_helpers.tpl", HELPERS_TPL)?;
        write("charts/app/templates/deployment.yaml", DEPLOYMENT_YAML)?;
        write("charts/app/templates/service.yaml", SERVICE_YAML)?;
        write(
            "charts/app/templates/serviceaccount.yaml",
            SERVICEACCOUNT_YAML,
        )?;
        write("charts/app/templates/ingress.yaml", INGRESS_YAML)?;
        for i in 0..apps {
            let name = app_name(i);
            write(&values_path(&name), &app_values(&name, "6.7.0"))?;
        }
        git(&work, &["add", "-A"])?;
        git(&work, &["commit", "-q", "-m", "1,000 apps"])?;
        let bare_s = bare.display().to_string();
        git(&work, &["remote", "add", "origin", &bare_s])?;
        git(&work, &["push", "-q", "origin", "main"])?;
        let head = git(&work, &["rev-parse", "HEAD"])?;
        Ok((Repo { work }, head))
    }

    /// Rewrites one app's values file with a new image tag, commits and pushes; returns
    /// `(before, after)` commits.
    pub fn bump(&self, name: &str, tag: &str) -> Result<(String, String), String> {
        let before = git(&self.work, &["rev-parse", "HEAD"])?;
        let rel = values_path(name);
        std::fs::write(self.work.join(&rel), app_values(name, tag)).map_err(|e| e.to_string())?;
        git(
            &self.work,
            &["commit", "-q", "-am", &format!("{name}: {tag}")],
        )?;
        git(&self.work, &["push", "-q", "origin", "main"])?;
        let after = git(&self.work, &["rev-parse", "HEAD"])?;
        Ok((before, after))
    }
}

/// The Application of app `name` (one Application object per app, all from one repo).
pub fn application(name: &str, repo_url: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "annotations": {
                // Only this app's files refresh it on a push (Argo CD's monorepo advice).
                "argocd.argoproj.io/manifest-generate-paths": format!(".;/apps/{name}"),
            },
        },
        "spec": {
            "project": "default",
            "source": {
                "repoURL": repo_url,
                "path": "charts/app",
                "targetRevision": "main",
                "helm": {"valueFiles": [format!("/{}", values_path(name))]},
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    })
}
