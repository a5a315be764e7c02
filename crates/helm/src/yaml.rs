//! The YAML reading Helm does around charts, on top of the `goyaml` crate: Chart.yaml,
//! values documents (k8s `YAMLReader` splitting), and heads of rendered manifests.

use serde_json::Value as Json;

use crate::manifest::Head;
use crate::values::Values;

/// Converts template data (as `goyaml` decodes values) into a values tree.
pub fn template_to_json(v: &gotmpl::Value) -> Json {
    use gotmpl::Value as V;
    match v {
        V::Nil => Json::Null,
        V::Bool(b) => Json::Bool(*b),
        V::Int(i) | V::Int64(i) => Json::from(*i),
        V::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        V::String(s) => Json::String(s.to_string()),
        V::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        V::List(l) => Json::Array(l.items.iter().map(template_to_json).collect()),
        V::Map(m) => Json::Object(
            m.entries
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), template_to_json(v)))
                .collect(),
        ),
        V::Object(o) => o
            .to_data()
            .map(|d| template_to_json(&d))
            .unwrap_or(Json::Object(Default::default())),
    }
}

/// `data` as text, invalid UTF-8 replaced by U+FFFD (`String::from_utf8_lossy`), with the
/// standard library's fast validation first (the lossy decoder checks byte by byte).
pub(crate) fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    // simdutf8 validates whole vectors at a time (several times faster than core's check on
    // the ~100 KiB of templates and values a chart has); on invalid input the lossy
    // conversion below finds the errors.
    match simdutf8::basic::from_utf8(data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(data),
    }
}

/// Parses a YAML document into a JSON tree as sigs.k8s.io/yaml does before decoding into a Go
/// struct (integers stay integers): used for Chart.yaml and requirements.yaml.
pub fn parse_document(data: &[u8]) -> Result<Json, String> {
    let text = text(data);
    goyaml::yaml_to_json_value(&text).map_err(|e| e.to_string())
}

/// Decodes one values document (`yaml.Unmarshal` into `map[string]interface{}`): numbers are
/// float64; an empty document is an empty map.
pub fn parse_values_document(text: &str) -> Result<Values, String> {
    goyaml::from_yaml_map_json(text).map_err(|e| e.to_string())
}

/// Splits a YAML stream into documents as k8s.io `YAMLReader` does: a line starting with `---`
/// ends a document (only spaces or a comment may follow it).
pub fn split_documents(data: &[u8]) -> Result<Vec<String>, String> {
    Ok(split_document_texts(data)?
        .into_iter()
        .map(|d| d.into_owned())
        .collect())
}

/// [`split_documents`], borrowing the text when it is a single document.
fn split_document_texts(data: &[u8]) -> Result<Vec<std::borrow::Cow<'_, str>>, String> {
    let text = text(data);
    let has_marker =
        |t: &str| t.starts_with("---") || memchr::memmem::find(t.as_bytes(), b"\n---").is_some();
    if !has_marker(&text) {
        return Ok(if text.is_empty() {
            Vec::new()
        } else {
            vec![text]
        });
    }
    let mut docs = Vec::new();
    let mut buf = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(format!(
                    "error reading yaml document: invalid Yaml document separator: {trimmed}"
                ));
            }
            if !buf.is_empty() {
                docs.push(std::mem::take(&mut buf).into());
            }
            continue;
        }
        buf.push_str(line);
    }
    if !buf.is_empty() {
        docs.push(buf.into());
    }
    Ok(docs)
}

/// Reads a values file as Helm's `loader.LoadValues` does (all documents merged).
pub fn load_values_file(data: &[u8]) -> Result<Values, String> {
    let mut values = Values::new();
    for doc in split_document_texts(data)? {
        let v = parse_values_document(&doc)
            .map_err(|e| format!("cannot unmarshal yaml document: {e}"))?;
        values = crate::values::merge_maps(values, v);
    }
    Ok(values)
}

/// Parses a rendered document's head (Helm's `SimpleHead`).
pub fn parse_head(text: &str) -> Result<Head, String> {
    let h = goyaml::parse_head(text).map_err(|e| e.to_string())?;
    Ok(Head {
        api_version: h.api_version,
        kind: h.kind,
        name: h.name.unwrap_or_default(),
        annotations: if h.has_metadata && !h.annotations.is_empty() {
            Some(h.annotations)
        } else {
            None
        },
    })
}

/// Helm engine's `toYAML` of a map (`yaml.Marshal`, one trailing newline removed).
pub fn to_yaml_string_map(m: &gotmpl::Map) -> String {
    let v = gotmpl::Value::map(m.clone());
    match goyaml::to_yaml(&v) {
        Ok(s) => s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid text is borrowed; invalid UTF-8 (anywhere, also past the first vector) becomes
    /// U+FFFD as `String::from_utf8_lossy` does.
    #[test]
    fn text_validates() {
        let ok = "héllo {{ .Values.x }}\n".repeat(20);
        assert!(matches!(text(ok.as_bytes()), std::borrow::Cow::Borrowed(s) if s == ok));
        let mut bad = ok.clone().into_bytes();
        bad.push(0xff);
        bad.extend_from_slice(b"tail");
        let t = text(&bad);
        assert_eq!(t, format!("{ok}\u{fffd}tail"));
    }

    #[test]
    fn split() {
        let d = split_documents(b"a: 1\n---\nb: 2\n--- # c\nc: 3\n").unwrap();
        assert_eq!(d, vec!["a: 1\n", "b: 2\n", "c: 3\n"]);
        assert!(split_documents(b"a: 1\n--- x\n").is_err());
    }

    #[test]
    fn values_are_floats() {
        let v = load_values_file(b"i: 3\nyes: on\n").unwrap();
        assert!(v["i"].is_f64());
        assert_eq!(v["true"], Json::Bool(true));
    }
}
