#!/usr/bin/env python3
"""Regenerates the golden files of the goyaml crate from the real Helm v4 engine.

Run with the venv that has helm-python-sdk: `$FERRY_VENV/bin/python gen.py`. Every input of
inputs.py is put in a chart file and passed through fromYaml/toJson/toYaml/... by Helm itself;
the outputs are written to golden.json, which `tests/golden.rs` compares against.
"""
import json, os, sys, tempfile
import helm_python as h

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inputs import YAML_INPUTS, JSON_INPUTS, VALUES_FILES, HEAD_DOCS, TOML_DOCS

SEP = "\n<<<SEP>>>\n"

def chart(files):
    d = tempfile.mkdtemp()
    os.makedirs(d + "/templates")
    with open(d + "/Chart.yaml", "w") as f:
        f.write("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    for p, t in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, p)), exist_ok=True)
        with open(os.path.join(d, p), "w") as f:
            f.write(t)
    return d

def render(files):
    d = chart(files)
    out = h.Chart.load(d).render({}, name="release-name", namespace="default")
    return out

def run_yaml():
    files = {}
    for i, y in enumerate(YAML_INPUTS):
        files[f"in/{i:04d}.yaml"] = y
    tpl = (
        "{{- range $i, $_ := until %d }}"
        "{{- $t := $.Files.Get (printf \"in/%%04d.yaml\" $i) }}"
        "{{- $m := fromYaml $t }}"
        "{{ toJson $m }}" + SEP +
        "{{ toYaml $m }}" + SEP +
        "{{ toPrettyJson $m }}" + SEP +
        "{{ toYamlPretty $m }}" + SEP +
        "{{ fromYamlArray $t | toJson }}" + SEP +
        "{{ toToml $m }}" + SEP +
        "{{ end }}"
    ) % len(YAML_INPUTS)
    files["templates/t.yaml"] = tpl
    out = render(files)["c/templates/t.yaml"]
    parts = out.split(SEP)
    cases = []
    for i, y in enumerate(YAML_INPUTS):
        p = parts[i * 6:(i + 1) * 6]
        cases.append({"input": y, "json": p[0], "yaml": p[1], "pretty_json": p[2],
                      "yaml_pretty": p[3], "array_json": p[4], "toml": p[5]})
    return cases

def run_json():
    files = {}
    for i, y in enumerate(JSON_INPUTS):
        files[f"in/{i:04d}.json"] = y
    tpl = (
        "{{- range $i, $_ := until %d }}"
        "{{- $t := $.Files.Get (printf \"in/%%04d.json\" $i) }}"
        "{{ fromJson $t | toJson }}" + SEP +
        "{{ fromJsonArray $t | toJson }}" + SEP +
        "{{ fromJson $t | toRawJson }}" + SEP +
        "{{ end }}"
    ) % len(JSON_INPUTS)
    files["templates/t.yaml"] = tpl
    out = render(files)["c/templates/t.yaml"]
    parts = out.split(SEP)
    return [{"input": y, "map_json": parts[i*3], "array_json": parts[i*3+1], "raw_json": parts[i*3+2]}
            for i, y in enumerate(JSON_INPUTS)]

def run_values_files():
    """values.yaml as the chart loader reads it (multi-document, merged)."""
    out = []
    for y in VALUES_FILES:
        d = chart({"values.yaml": y, "templates/t.yaml": "{{ toJson .Values }}"})
        try:
            r = h.Chart.load(d).render({}, name="release-name", namespace="default")["c/templates/t.yaml"]
            out.append({"input": y, "json": r})
        except Exception as ex:
            out.append({"input": y, "error": str(ex)})
    return out

def run_toml():
    """Valid TOML documents through fromToml | toJson and back through toToml."""
    files = {f"in/{i:04d}.toml": t for i, t in enumerate(TOML_DOCS)}
    files["templates/t.yaml"] = (
        "{{- range $i, $_ := until %d }}"
        "{{- $m := fromToml ($.Files.Get (printf \"in/%%04d.toml\" $i)) }}"
        "{{ toJson $m }}" + SEP + "{{ toToml $m }}" + SEP + "{{ end }}"
    ) % len(TOML_DOCS)
    parts = render(files)["c/templates/t.yaml"].split(SEP)
    return [{"input": t, "json": parts[i * 2], "toml": parts[i * 2 + 1]} for i, t in enumerate(TOML_DOCS)]

def run_heads():
    """Rendered documents through Helm's manifest sorter (SimpleHead parsing)."""
    out = []
    for doc in HEAD_DOCS:
        d = chart({"templates/t.yaml": doc})
        try:
            rel = h.Config(storage_driver="memory").install(d, "rel", {}, namespace="ns", dry_run="client")
            out.append({"input": doc, "manifest": rel["manifest"]})
        except Exception as ex:
            out.append({"input": doc, "error": str(ex)})
    return out

def run_values():
    out = []
    for y in YAML_INPUTS:
        try:
            v = h.values_from_yaml(y)
            out.append({"input": y, "values": json.dumps(v, sort_keys=True)})
        except Exception as ex:
            out.append({"input": y, "error": str(ex)})
    return out

if __name__ == "__main__":
    res = {"yaml": run_yaml(), "json": run_json(), "values": run_values(), "values_files": run_values_files(), "heads": run_heads(), "toml": run_toml()}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json"), "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
        f.write("\n")
