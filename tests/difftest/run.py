#!/usr/bin/env python3
"""Differential template suite: ferry against the real Helm v4.2.3 engine (helm-python-sdk).

Usage:
    run.py --ferry PATH [--filter SUBSTR] [--verbose]
    run.py --ferry PATH --corpus MANIFEST --charts DIR [--values-dir DIR] [--filter SUBSTR]

Case files are described in README.md (beside this script). Two kinds:

* template cases (every `cases/*.yaml` except `chart-*.yaml`): a one-template chart `c` is built
  in a temporary directory and rendered by Helm (`Chart.render`, the engine's per-file output) and
  by `ferry template --debug-render-files`; outputs must be equal byte for byte, or both must fail
  with the same message.
* chart cases (`cases/chart-*.yaml`): a fixture chart from `charts/` is rendered as the full
  `helm template` stream. The expected stream is built from `Chart.render` as `helm template`
  assembles it (helm-template-semantics.md section 15); `ferry template` must print it exactly,
  or fail with `Error: <Helm's message>`.

The corpus mode renders every case of the development corpus (dev-corpus.yaml) the same way,
twice with Helm to mask lines that differ between runs (random functions), and prints one line
per case: identical / differs (first differing line) / error.

Exit status: 0 when every case matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

try:
    import helm_python as helm
except ImportError as exc:  # pragma: no cover - environment problem, reported clearly
    sys.exit(f"run.py: the oracle helm-python-sdk is not installed ({exc}); "
             f"install scripts/requirements.txt into $FERRY_VENV")

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
CHARTS = HERE / "charts"

CHART_YAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
FERRY_TIMEOUT = int(os.environ.get("FERRY_DIFFTEST_TIMEOUT", "300"))
RENDER_ERROR_SUFFIX = "\n\nUse --debug flag to render out invalid YAML"


# --------------------------------------------------------------------------------------------
# The expected `helm template` stream, assembled from the engine's per-file output
# (helm-template-semantics.md section 15; Helm's pkg/release/v1/util/manifest_sorter.go).

SEP = re.compile(r"(?:\A|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
]
HOOK_EVENTS = {
    "pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade", "post-upgrade",
    "pre-rollback", "post-rollback", "test", "test-success",
}
GO_SPACE = " \t\n\f\r\v"


def _kind_key(kind: str) -> tuple[int, str]:
    if kind in INSTALL_ORDER:
        return (INSTALL_ORDER.index(kind), "")
    return (len(INSTALL_ORDER), kind)


def split_manifest(text: str) -> list[str]:
    text = text.lstrip(GO_SPACE)
    pieces = []
    for piece in SEP.split(text):
        if piece.strip(GO_SPACE) == "":
            continue
        pieces.append(piece.lstrip(GO_SPACE))
    return pieces


def parse_head(path: str, piece: str) -> dict[str, Any]:
    try:
        doc = yaml.load(piece, Loader=yaml.BaseLoader)
    except yaml.YAMLError:
        # Helm accepted it (install succeeded); read the head fields line by line.
        doc = {}
        m = re.search(r"^kind:[ \t]*(\S+)", piece, re.M)
        if m:
            doc["kind"] = m.group(1).strip("'\"")
        if re.search(r"^[ \t]+[\"']?helm\.sh/hook[\"']?:", piece, re.M):
            doc["metadata"] = {"annotations": {"helm.sh/hook": "unknown"}}
        print(f"run.py: warning: PyYAML cannot parse a document of {path}", file=sys.stderr)
    return doc if isinstance(doc, dict) else {}


def assemble(files: dict[str, str], crds: list[tuple[str, bytes]], *, include_crds: bool,
             no_hooks: bool, skip_tests: bool) -> str:
    manifests = []  # (kind, path, piece)
    hooks = []
    for path in sorted(files):
        if path.endswith("NOTES.txt"):
            continue
        base = path.rsplit("/", 1)[-1]
        text = files[path]
        if base.startswith("_") or text.strip(GO_SPACE) == "":
            continue
        for piece in split_manifest(text):
            head = parse_head(path, piece)
            meta = head.get("metadata") if isinstance(head.get("metadata"), dict) else {}
            ann = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
            kind = head.get("kind") if isinstance(head.get("kind"), str) else ""
            if "helm.sh/hook" in ann:
                events = [e.strip().lower() for e in str(ann["helm.sh/hook"]).split(",")]
                if any(e not in HOOK_EVENTS for e in events):
                    continue
                hooks.append((kind, path, piece, events))
            else:
                manifests.append((kind, path, piece))
    manifests.sort(key=lambda m: _kind_key(m[0]))
    hooks.sort(key=lambda h: _kind_key(h[0]))
    out = ""
    if include_crds:
        for name, data in crds:
            out += f"---\n# Source: {name}\n{data.decode('utf-8', 'surrogateescape')}\n"
    for _, path, piece in manifests:
        out += f"---\n# Source: {path}\n{piece}\n"
    stream = out.strip(GO_SPACE) + "\n"
    if not no_hooks:
        for _, path, piece, events in hooks:
            if skip_tests and ("test" in events or "test-success" in events):
                continue
            stream += f"---\n# Source: {path}\n{piece}\n"
    return stream


def merge_maps(a: dict, b: dict) -> dict:
    """Helm CLI's mergeMaps for several -f files: nested maps merge, anything else replaces."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


def processed_crds(ch: Any) -> list[tuple[str, bytes]]:
    """CRD files exactly as `helm template --include-crds` prints them: Helm's
    `chart.CRDObjects()` on the processed chart. The binding's render processes the loaded
    chart's dependencies in place (disabled subcharts removed at every level, aliases applied,
    undeclared subcharts first), so `crds` read after rendering is Helm's own recursion, nested
    subcharts included."""
    out = []
    for c in ch.crds:
        data = c["data"].encode("utf-8", "surrogateescape") if isinstance(c["data"], str) else bytes(c["data"])
        out.append((c["filename"], data))
    return out


# --------------------------------------------------------------------------------------------
# Running ferry and the oracle

class Result:
    def __init__(self, output: Any = None, error: str | None = None):
        self.output = output
        self.error = error

    def __repr__(self) -> str:
        return f"Result(error={self.error!r})" if self.error is not None else "Result(ok)"


def oracle_files(chart_dir: Path, values: dict | None = None, name: str = "release-name",
                 namespace: str = "default") -> Result:
    try:
        ch = helm.Chart.load(str(chart_dir))
        return Result(ch.render(values or {}, name=name, namespace=namespace))
    except helm.HelmError as exc:
        return Result(error=str(exc).rstrip("\n"))


def ferry_files(ferry: str, chart_dir: Path) -> Result:
    try:
        proc = subprocess.run([ferry, "template", "--debug-render-files", str(chart_dir)],
                              capture_output=True, timeout=FERRY_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Result(error=f"<ferry timed out after {FERRY_TIMEOUT}s>")
    if proc.returncode != 0:
        return Result(error=proc.stderr.decode("utf-8", "replace").rstrip("\n"))
    try:
        return Result(json.loads(proc.stdout.decode("utf-8", "surrogateescape")))
    except json.JSONDecodeError as exc:
        return Result(error=f"<ferry printed invalid JSON: {exc}>")


def ferry_stream(ferry: str, args: list[str]) -> Result:
    try:
        proc = subprocess.run([ferry, "template", *args], capture_output=True, timeout=FERRY_TIMEOUT,
                              env={**os.environ, "TZ": "UTC"})
    except subprocess.TimeoutExpired:
        return Result(error=f"<ferry timed out after {FERRY_TIMEOUT}s>")
    if proc.returncode != 0:
        return Result(error=proc.stderr.decode("utf-8", "replace").rstrip("\n"))
    return Result(proc.stdout.decode("utf-8", "surrogateescape"))


def short_diff(expected: str, actual: str, limit: int = 30) -> str:
    lines = list(difflib.unified_diff(expected.splitlines(keepends=True),
                                      actual.splitlines(keepends=True),
                                      "helm", "ferry", n=2))
    if not lines and expected != actual:
        return f"    (differ only in line endings) helm={expected[-20:]!r} ferry={actual[-20:]!r}"
    out = []
    for line in lines[:limit]:
        out.append("    " + line.rstrip("\n") + ("" if line.endswith("\n") else " ⏎(no newline)"))
    if len(lines) > limit:
        out.append(f"    ... {len(lines) - limit} more diff lines")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# PEM shape check (`check: cert`)

PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]*?-----END \1-----\r?\n?")


def mask_pem(text: str) -> str:
    return PEM_RE.sub(lambda m: f"<PEM {m.group(1)}>", text)


def check_certs(text: str) -> str | None:
    """Every PEM block parses; each certificate is self-signed or signed by an earlier one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    certs = []
    for m in PEM_RE.finditer(text):
        block = m.group(0).encode()
        kind = m.group(1)
        try:
            if kind == "CERTIFICATE":
                certs.append(x509.load_pem_x509_certificate(block))
            elif kind.endswith("PRIVATE KEY"):
                if kind != "DSA PRIVATE KEY":
                    serialization.load_pem_private_key(block, password=None)
        except Exception as exc:  # noqa: BLE001 - report any parse failure
            return f"PEM block {kind} does not parse: {exc}"

    def verifies(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        key = issuer.public_key()
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                           cert.signature_hash_algorithm)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes,
                           ec.ECDSA(cert.signature_hash_algorithm))
            elif isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes)
            else:
                return False
            return True
        except Exception:  # noqa: BLE001
            return False

    for i, cert in enumerate(certs):
        candidates = [c for c in certs if c.subject == cert.issuer]
        if not any(verifies(cert, c) for c in candidates):
            return f"certificate {i} ({cert.subject.rfc4514_string()}) is not signed by its issuer"
    return None


# --------------------------------------------------------------------------------------------
# Template cases

def build_chart(root: Path, case: dict) -> Path:
    chart = root / "c"
    (chart / "templates").mkdir(parents=True)
    files = dict(case.get("files") or {})
    files.setdefault("Chart.yaml", CHART_YAML)
    if "values" in case and case["values"] is not None:
        files.setdefault("values.yaml", case["values"])
    if "template" in case and case["template"] is not None:
        files.setdefault("templates/t.yaml", case["template"])
    for rel, content in files.items():
        p = chart / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode("utf-8") if isinstance(content, str) else bytes(content))
    return chart


def compare_files(case: dict, expected: Result, actual: Result) -> str | None:
    """None when the outputs agree, otherwise a description of the difference."""
    if expected.error is not None or actual.error is not None:
        if expected.error == actual.error:
            return None
        if expected.error is None:
            return f"  helm rendered, ferry failed:\n    {actual.error}"
        if actual.error is None:
            return f"  helm failed, ferry rendered:\n    helm: {expected.error}"
        return "  both failed, messages differ:\n" + short_diff(expected.error + "\n",
                                                                 actual.error + "\n")
    exp, act = expected.output, actual.output
    if set(exp) != set(act):
        return f"  file sets differ: helm={sorted(exp)} ferry={sorted(act)}"
    problems = []
    pattern = case.get("random")
    for path in sorted(exp):
        e, a = exp[path], act[path]
        main = path.endswith("/templates/t.yaml") or len(exp) == 1
        if main and (pattern is not None or case.get("check") == "cert"):
            if pattern is not None:
                for who, text in (("helm", e), ("ferry", a)):
                    if not re.fullmatch(pattern, text, re.S):
                        problems.append(f"  {path}: {who} output does not fullmatch {pattern!r}:"
                                        f"\n    {text[:300]!r}")
            if case.get("check") == "cert":
                if mask_pem(e) != mask_pem(a):
                    problems.append(f"  {path}: text around PEM blocks differs:\n"
                                    + short_diff(mask_pem(e), mask_pem(a)))
                for who, text in (("helm", e), ("ferry", a)):
                    msg = check_certs(text)
                    if msg:
                        problems.append(f"  {path}: {who}: {msg}")
            continue
        if e != a:
            problems.append(f"  {path}:\n" + short_diff(e, a))
    return "\n".join(problems) or None


def run_template_file(path: Path, ferry: str, flt: str | None) -> tuple[int, int, list[str]]:
    cases = yaml.safe_load(path.read_text()) or []
    passed = total = 0
    failures = []
    for case in cases:
        cid = f"{path.stem}/{case['name']}"
        if flt and flt not in cid:
            continue
        total += 1
        with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
            chart = build_chart(Path(tmp), case)
            expected = oracle_files(chart)
            actual = ferry_files(ferry, chart)
        problem = compare_files(case, expected, actual)
        known = case.get("known_difference")
        if known:
            # A recorded gap: it must still differ (so the record stays true); it counts as
            # passed and is listed, and an unexpected match fails until the record is removed.
            if problem is None:
                failures.append(f"FAIL {cid}\n  now identical: remove its known_difference")
            else:
                passed += 1
                print(f"known difference {cid}: {known}")
        elif problem is None:
            passed += 1
        else:
            failures.append(f"FAIL {cid}\n{problem}")
    return passed, total, failures


# --------------------------------------------------------------------------------------------
# Whole-chart cases

def expected_stream(chart_dir: Path, values_files: list[Path], *, release: str, namespace: str,
                    include_crds: bool, no_hooks: bool, skip_tests: bool,
                    show_only: list[str] | None = None, self_check: bool = True,
                    kube_version: str | None = None, api_versions: list[str] | None = None,
                    dependency_update: bool = False) -> Result:
    values: dict = {}
    for f in values_files:
        values = merge_maps(values, helm.values_from_yaml(f.read_text()))
    prelude = ""
    try:
        ch = helm.Chart.load(str(chart_dir))
        # `helm template`'s own checks before installing (pkg/cmd/install.go).
        ctype = ch.metadata.get("type") or ""
        if ctype not in ("", "application"):
            return Result(error=f"Error: {ctype} charts are not installable")
        declared = [d["name"] for d in ch.metadata.get("dependencies") or []]
        present = {d["name"] for d in ch.dependencies}
        missing = [n for n in declared if n not in present]
        if missing and dependency_update:
            # `helm template --dependency-update`: Manager.Update writes the packaged
            # dependencies into charts/ (of this temporary copy) and prints its progress on
            # stdout before the manifests; the chart is then reloaded.
            helm.dependency_update(str(chart_dir))
            prelude = f"Saving {len(declared)} charts\nDeleting outdated charts\n"
            ch = helm.Chart.load(str(chart_dir))
        elif missing:
            return Result(error="Error: an error occurred while checking for chart dependencies. "
                                "You may need to run 'helm dependency build' to fetch missing "
                                "dependencies: found in Chart.yaml, but missing in charts/ "
                                f"directory: {', '.join(missing)}")
        if kube_version or api_versions:
            # The binding's render takes these options through its native call.
            opts = {"name": release, "namespace": namespace}
            if kube_version:
                opts["kube_version"] = kube_version
            if api_versions:
                opts["api_versions"] = list(api_versions)
            files = json.loads(helm._native.call_string(
                "helm_render", ch._raw(), json.dumps(values), json.dumps(opts)))
        else:
            files = ch.render(values, name=release, namespace=namespace)
    except helm.HelmRenderError as exc:
        return Result(error=f"Error: {str(exc).rstrip(chr(10))}{RENDER_ERROR_SUFFIX}")
    except helm.HelmError as exc:
        return Result(error=f"Error: {exc}".rstrip("\n"))
    if kube_version or api_versions:
        self_check = False  # install() cannot take these options
    else:
        try:
            # Helm's own install (client dry-run): the exact non-hook manifest, and Helm's
            # error text when a rendered document is not valid YAML.
            rel = helm.Config(storage_driver="memory").install(
                str(chart_dir), release, values, namespace=namespace, dry_run="client")
        except helm.HelmError as exc:
            return Result(error=f"Error: {str(exc).rstrip(chr(10))}{RENDER_ERROR_SUFFIX}")
    stream = assemble(files, processed_crds(ch), include_crds=include_crds,
                      no_hooks=no_hooks, skip_tests=skip_tests)
    if self_check:
        # The Python assembly must agree with Helm's own non-hook manifest.
        ours = assemble(files, [], include_crds=False, no_hooks=True, skip_tests=False)
        theirs = rel["manifest"].strip(GO_SPACE) + "\n"
        if ours != theirs:
            raise SystemExit(f"run.py: assembled manifest differs from Helm's install manifest "
                             f"for {chart_dir}:\n{short_diff(theirs, ours)}")
    if show_only:
        stream = apply_show_only(stream, show_only)
    return Result(prelude + stream)


def go_match(pattern: str, name: str) -> bool:
    """Go's filepath.Match: `*` and `?` never match `/`."""
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            rx += "[^/]*"
        elif c == "?":
            rx += "[^/]"
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            rx += re.escape(pattern[i])
        elif c == "[":
            j = pattern.index("]", i + 1)
            body = pattern[i + 1:j]
            rx += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
            i = j
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, name) is not None


def apply_show_only(stream: str, patterns: list[str]) -> str:
    docs = split_manifest(stream)
    out = ""
    for pat in patterns:
        for d in docs:
            m = re.search(r"# Source: [^/]+/(.+)", d)
            if m and go_match(pat, m.group(1)):
                out += f"---\n{d}\n"
    return out


def run_chart_file(path: Path, ferry: str, flt: str | None) -> tuple[int, int, list[str]]:
    cases = yaml.safe_load(path.read_text()) or []
    passed = total = 0
    failures = []
    for case in cases:
        cid = f"{path.stem}/{case['name']}"
        if flt and flt not in cid:
            continue
        total += 1
        with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
            # Copy the chart's top folder (siblings hold `file://` dependencies). ferry runs
            # first: it never writes into the chart, while Helm's --dependency-update does.
            top = case["chart"].split("/")[0]
            shutil.copytree(CHARTS / top, Path(tmp) / top)
            chart = Path(tmp) / case["chart"]
            vfiles = [CHARTS / v for v in case.get("values_files") or []]
            release = case.get("release", "release-name")
            namespace = case.get("namespace", "default")
            args = [release, str(chart), "-n", namespace]
            for v in vfiles:
                args += ["-f", str(v)]
            for flag in ("include_crds", "no_hooks", "skip_tests"):
                if case.get(flag):
                    args.append("--" + flag.replace("_", "-"))
            for pat in case.get("show_only") or []:
                args += ["--show-only", pat]
            if case.get("kube_version"):
                args += ["--kube-version", case["kube_version"]]
            for av in case.get("api_versions") or []:
                args += ["--api-versions", av]
            if case.get("dependency_update"):
                args.append("--dependency-update")
            if case.get("is_upgrade"):
                raise SystemExit(f"{cid}: is_upgrade is not supported by the oracle")
            actual = ferry_stream(ferry, args)
            expected = expected_stream(
                chart, vfiles, release=release, namespace=namespace,
                include_crds=bool(case.get("include_crds")), no_hooks=bool(case.get("no_hooks")),
                skip_tests=bool(case.get("skip_tests")), show_only=case.get("show_only"),
                kube_version=case.get("kube_version"), api_versions=case.get("api_versions"),
                dependency_update=bool(case.get("dependency_update")))
        problem = compare_stream(expected, actual)
        if problem is None:
            passed += 1
        else:
            failures.append(f"FAIL {cid}\n{problem}")
    return passed, total, failures


def compare_stream(expected: Result, actual: Result, mask: set[int] | None = None) -> str | None:
    if expected.error is not None or actual.error is not None:
        if expected.error == actual.error:
            return None
        if expected.error is None:
            return f"  helm rendered, ferry failed:\n    {actual.error}"
        if actual.error is None:
            return f"  helm failed, ferry rendered:\n    {expected.error}"
        return "  both failed, messages differ:\n" + short_diff(expected.error + "\n",
                                                                 actual.error + "\n")
    e, a = expected.output, actual.output
    if mask:
        el, al = e.split("\n"), a.split("\n")
        if len(el) == len(al):
            e = "\n".join("<random>" if i in mask else x for i, x in enumerate(el))
            a = "\n".join("<random>" if i in mask else x for i, x in enumerate(al))
    if e == a:
        return None
    return short_diff(e, a)


# --------------------------------------------------------------------------------------------
# Corpus mode

def run_corpus(args: argparse.Namespace) -> int:
    manifest = yaml.safe_load(Path(args.corpus).read_text())
    entries = manifest.get("charts", manifest) if isinstance(manifest, dict) else manifest
    values_dir = Path(args.values_dir) if args.values_dir else Path(args.corpus).parent / "dev-values"
    identical = differs = errors = 0

    class Lines(list):
        def append(self, line: str) -> None:  # print as we go
            print(line, flush=True)
            super().append(line)

    lines = Lines()
    for entry in entries:
        name = entry["name"] if isinstance(entry, dict) else str(entry)
        if args.filter and args.filter not in name:
            continue
        chart = Path(args.charts) / name
        variants = [("default", "release-name", "default", [])]
        vf = values_dir / f"{name}.yaml"
        if vf.exists():
            variants.append(("dev-values", "demo", "ferry-test", [vf]))
        for label, release, namespace, vfiles in variants:
            cid = f"{name} [{label}]"
            if not chart.is_dir():
                lines.append(f"error     {cid}: chart not extracted at {chart}")
                errors += 1
                continue
            exp1 = expected_stream(chart, vfiles, release=release, namespace=namespace,
                                   include_crds=False, no_hooks=False, skip_tests=False,
                                   self_check=False)
            exp2 = expected_stream(chart, vfiles, release=release, namespace=namespace,
                                   include_crds=False, no_hooks=False, skip_tests=False,
                                   self_check=False)
            mask = set()
            if exp1.output is not None and exp2.output is not None:
                l1, l2 = exp1.output.split("\n"), exp2.output.split("\n")
                if len(l1) == len(l2):
                    mask = {i for i, (x, y) in enumerate(zip(l1, l2)) if x != y}
            fargs = [release, str(chart), "-n", namespace]
            for v in vfiles:
                fargs += ["-f", str(v)]
            actual = ferry_stream(args.ferry, fargs)
            problem = compare_stream(exp1, actual, mask)
            if problem is None:
                identical += 1
                lines.append(f"identical {cid}" + (f" ({len(mask)} random lines masked)" if mask else ""))
            elif actual.error is not None and exp1.error is None:
                errors += 1
                lines.append(f"error     {cid}: {actual.error.splitlines()[0] if actual.error else ''}")
            else:
                differs += 1
                first = first_difference(exp1, actual, mask)
                lines.append(f"differs   {cid}: {first}")
    total = identical + differs + errors
    print(f"\ntotal {total}: identical {identical}, differs {differs}, error {errors}")
    return 0 if identical == total else 1


def first_difference(expected: Result, actual: Result, mask: set[int]) -> str:
    if expected.error is not None or actual.error is not None:
        return f"helm: {expected.error!r} ferry: {(actual.error or '')[:200]!r}"
    el, al = expected.output.split("\n"), actual.output.split("\n")
    for i, (x, y) in enumerate(zip(el, al)):
        if i not in mask and x != y:
            return f"line {i + 1}: helm {x[:120]!r} ferry {y[:120]!r}"
    return f"length: helm {len(el)} lines, ferry {len(al)} lines"


# --------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ferry", required=True, help="path of the ferry binary")
    ap.add_argument("--filter", help="only cases whose id (file/name) contains this")
    ap.add_argument("--corpus", help="dev-corpus.yaml: run the real-chart corpus instead")
    ap.add_argument("--charts", help="corpus mode: directory of extracted charts")
    ap.add_argument("--values-dir", help="corpus mode: dev-values directory")
    args = ap.parse_args()
    os.environ["TZ"] = "UTC"
    if not Path(args.ferry).is_file():
        print(f"run.py: ferry binary not found at {args.ferry}", file=sys.stderr)
        return 2
    if args.corpus:
        if not args.charts:
            ap.error("--corpus needs --charts")
        return run_corpus(args)
    all_failures = []
    grand_pass = grand_total = 0
    for path in sorted(CASES.glob("*.yaml")):
        if path.name.startswith("chart-"):
            passed, total, failures = run_chart_file(path, args.ferry, args.filter)
        else:
            passed, total, failures = run_template_file(path, args.ferry, args.filter)
        if total:
            print(f"{path.name}: {passed}/{total} passed")
        grand_pass += passed
        grand_total += total
        all_failures += failures
    for f in all_failures:
        print(f)
    print(f"\ntotal: {grand_pass}/{grand_total} passed")
    return 0 if grand_pass == grand_total else 1


if __name__ == "__main__":
    sys.exit(main())
