//! A small, deterministic YAML writer for JSON values, in kubectl's style: keys sorted, two
//! space indentation, sequences at the indentation of their parent key, multi-line strings as
//! literal blocks, strings quoted only when plain style would change their meaning.
//!
//! Only used to show objects to people (`ferry app diff`); never parsed back by ferry.

use serde_json::Value;

/// One YAML document for `value` (no `---` marker), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => emit_map(value, 0, &mut out),
        Value::Array(a) if !a.is_empty() => emit_seq(value, 0, &mut out),
        other => {
            emit_scalar_inline(other, 0, &mut out);
            out.push('\n');
        }
    }
    out
}

/// Several documents separated by `---` lines.
pub fn to_yaml_documents(values: &[Value]) -> String {
    values.iter().map(to_yaml).collect::<Vec<_>>().join("---\n")
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn sorted(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn emit_map(v: &Value, indent: usize, out: &mut String) {
    let Value::Object(m) = v else { return };
    for (k, val) in sorted(m) {
        pad(out, indent);
        out.push_str(&quote_if_needed(k));
        out.push(':');
        match val {
            Value::Object(_) if is_block(val) => {
                out.push('\n');
                emit_map(val, indent + 2, out);
            }
            Value::Array(_) if is_block(val) => {
                out.push('\n');
                emit_seq(val, indent, out);
            }
            _ => {
                out.push(' ');
                emit_scalar_inline(val, indent + 2, out);
                out.push('\n');
            }
        }
    }
}

fn emit_seq(v: &Value, indent: usize, out: &mut String) {
    let Value::Array(a) = v else { return };
    for item in a {
        pad(out, indent);
        out.push_str("- ");
        if is_block(item) {
            let mut inner = String::new();
            match item {
                Value::Object(_) => emit_map(item, indent + 2, &mut inner),
                _ => emit_seq(item, indent + 2, &mut inner),
            }
            out.push_str(&inner[indent + 2..]);
        } else {
            emit_scalar_inline(item, indent + 2, out);
            out.push('\n');
        }
    }
}

/// A scalar (or empty collection) after `key: ` or `- `; block literals continue on the next
/// lines at `indent`.
fn emit_scalar_inline(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) => {
            if let Some(lines) = literal_lines(s) {
                out.push_str(if s.ends_with('\n') { "|" } else { "|-" });
                for line in lines {
                    out.push('\n');
                    if !line.is_empty() {
                        pad(out, indent);
                        out.push_str(line);
                    }
                }
            } else {
                out.push_str(&quote_if_needed(s));
            }
        }
    }
}

/// Lines of a string that can be written as a literal block, or `None`.
fn literal_lines(s: &str) -> Option<Vec<&str>> {
    if !s.contains('\n') {
        return None;
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    if body.ends_with('\n') || body.starts_with(' ') || body.is_empty() {
        return None;
    }
    if s.chars()
        .any(|c| (c.is_control() && c != '\n') || c == '\u{feff}')
    {
        return None;
    }
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.iter().any(|l| l.ends_with(' ')) {
        return None;
    }
    Some(lines)
}

/// Whether a plain scalar would be read back as something other than this string.
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | "<<" | "="
    ) {
        return true;
    }
    if looks_numeric(s) || looks_like_timestamp(s) {
        return true;
    }
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    if ",[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    // `-x`, `?x`, `:x` are plain scalars (as go-yaml writes them); `- x`, `-` are not.
    if "-?:".contains(first) && chars.next().is_none_or(char::is_whitespace) {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return true;
    }
    s.chars().any(|c| c.is_control() || c == '\u{feff}')
}

/// YAML 1.1 timestamps start with `YYYY-M-D` (go-yaml quotes such strings, so kubectl prints
/// `creationTimestamp: "2026-11-23T01:00:00Z"`).
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, min: usize, max: usize| -> Option<usize> {
        let n = b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (min..=max).contains(&n).then_some(from + n)
    };
    let Some(i) = digits(0, 4, 4) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(j) = digits(i + 1, 1, 2) else {
        return false;
    };
    if b.get(j) != Some(&b'-') {
        return false;
    }
    digits(j + 1, 1, 2).is_some()
}

fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    if matches!(t.to_ascii_lowercase().as_str(), ".inf" | ".nan") {
        return true;
    }
    if let Some(h) = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0o"))
        .or_else(|| t.strip_prefix("0b"))
    {
        return !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if !t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return false;
    }
    let plain = t.replace('_', "");
    if plain.parse::<f64>().is_ok() {
        return true;
    }
    // YAML 1.1 sexagesimal numbers such as `12:30` or `1:20.5`.
    let mut parts = plain.split(':');
    let head_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let rest: Vec<&str> = parts.collect();
    head_ok
        && !rest.is_empty()
        && rest.iter().enumerate().all(|(i, p)| {
            let p = if i + 1 == rest.len() {
                p.split_once('.').map_or(*p, |x| x.0)
            } else {
                p
            };
            !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
        })
}

fn quote_if_needed(s: &str) -> String {
    if !needs_quotes(s) {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                q.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_style_document() {
        let d = json!({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "annotations": {"deployment.kubernetes.io/revision": "1", "empty": ""},
                          "labels": {}},
            "spec": {"replicas": 3, "paused": false, "selector": null,
                     "template": {"spec": {"containers": [
                        {"name": "web", "image": "nginx:1.27", "args": ["-c", "echo: hi", "#x"],
                         "ports": [{"containerPort": 80}], "env": []}]}}}
        });
        let expected = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    deployment.kubernetes.io/revision: \"1\"
    empty: \"\"
  labels: {}
  name: web
spec:
  paused: false
  replicas: 3
  selector: null
  template:
    spec:
      containers:
      - args:
        - -c
        - \"echo: hi\"
        - \"#x\"
        env: []
        image: nginx:1.27
        name: web
        ports:
        - containerPort: 80
";
        assert_eq!(to_yaml(&d), expected);
    }

    #[test]
    fn scalars_and_blocks() {
        let v = json!({"script": "set -e\necho hi\n", "nofinal": "a\nb", "yes": "yes", "num": "1.5",
            "ver": "v1", "ip": "10.0.0.1", "float": 0.5, "neg": -3, "nested": [[1, 2], []],
            "tab": "a\tb", "colon": "a:b", "octal": "0o17", "blank": "x\n\ny\n"});
        let y = to_yaml(&v);
        assert!(y.contains("script: |\n  set -e\n  echo hi\n"), "{y}");
        assert!(y.contains("nofinal: |-\n  a\n  b\n"), "{y}");
        assert!(y.contains("blank: |\n  x\n\n  y\n"), "{y}");
        assert!(y.contains("\"yes\": \"yes\"\n"), "{y}");
        assert!(y.contains("num: \"1.5\"\n"));
        assert!(y.contains("ver: v1\n"));
        assert!(y.contains("ip: 10.0.0.1\n"));
        assert!(y.contains("float: 0.5\n"));
        assert!(y.contains("neg: -3\n"));
        assert!(y.contains("nested:\n- - 1\n  - 2\n- []\n"), "{y}");
        assert!(y.contains("tab: \"a\\tb\"\n"));
        assert!(y.contains("colon: a:b\n"));
        assert_eq!(to_yaml(&json!({"t": "12:30"})), "t: \"12:30\"\n");
        assert_eq!(to_yaml(&json!({"t": "1e3"})), "t: \"1e3\"\n");
        assert_eq!(to_yaml(&json!({"t": "1.2.3"})), "t: 1.2.3\n");
        assert_eq!(
            to_yaml(&json!({"t": "2026-11-23T01:00:00Z", "d": "2026-1-2", "v": "2026-11"})),
            "d: \"2026-1-2\"\nt: \"2026-11-23T01:00:00Z\"\nv: 2026-11\n"
        );
        assert_eq!(
            to_yaml(&json!(["-", "- x", "-x", ":", "?a"])),
            "- \"-\"\n- \"- x\"\n- -x\n- \":\"\n- ?a\n"
        );
        assert!(y.contains("octal: \"0o17\"\n"));
        assert_eq!(to_yaml(&json!("x")), "x\n");
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(
            to_yaml_documents(&[json!({"a": 1}), json!({"b": 2})]),
            "a: 1\n---\nb: 2\n"
        );
    }
}
