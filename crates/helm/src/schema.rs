//! values.schema.json validation with the error text of Helm v4 (santhosh-tekuri/jsonschema v6
//! as Helm prints it: `- at '/path': message`, nested causes indented).
//!
//! Supported keywords: `type`, `const`, `enum`, `$ref` (local JSON pointers), object
//! (`required`, `properties`, `patternProperties`, `additionalProperties`, `minProperties`,
//! `maxProperties`, `dependentRequired`), array (`items`, `prefixItems`, `minItems`,
//! `maxItems`, `uniqueItems`), string (`minLength`, `maxLength`, `pattern`), number
//! (`minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`), and
//! `not`/`allOf`/`anyOf`/`oneOf`/`if`-`then`-`else`, and `format` with v6's checks and texts
//! for draft-04/06/07 schemas (v6 asserts formats only for those drafts as Helm configures it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use crate::chart::Chart;
use crate::gofmt::format_float_g;

/// One validation error: instance location, message, nested causes.
#[derive(Clone, Debug)]
struct VErr {
    at: String,
    msg: String,
    causes: Vec<VErr>,
    /// A `$ref` wrapper with one cause is not displayed itself.
    skip: bool,
}

impl VErr {
    fn display(&self, out: &mut String, indent: usize) {
        let mut indent = indent;
        if !self.skip {
            out.push('\n');
            for _ in 0..indent.saturating_sub(1) {
                out.push_str("  ");
            }
            out.push_str("- ");
            out.push_str(&format!("at {}: {}", quote(&self.at), self.msg));
            indent += 1;
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }
}

fn quote(s: &str) -> String {
    // Go %q, then \" → ", ' → \'.
    let mut q = String::new();
    for c in s.chars() {
        match c {
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            '\'' => q.push_str("\\'"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\x{:02x}", c as u32)),
            c => q.push(c),
        }
    }
    format!("'{q}'")
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) | Value::Object(_) => "value".into(),
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => num_str(n.as_f64().unwrap_or(0.0)),
    }
}

/// A number as golang.org/x/text's English printer formats `%v`/`%d`: digit grouping.
fn num_str(f: f64) -> String {
    let s = format_float_g(f);
    if s.contains('e') {
        return s;
    }
    group(&s)
}

fn group(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

fn int_str(n: impl std::fmt::Display) -> String {
    group(&n.to_string())
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

const TYPE_ORDER: &[&str] = &[
    "null", "boolean", "number", "integer", "string", "array", "object",
];

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

struct Validator<'a> {
    root: &'a Value,
    legacy_ref: bool,
    /// `pattern` and `patternProperties` expressions compiled so far in this validation (a
    /// `$ref`'d definition applies its pattern to many values); `None`: does not compile.
    patterns: RefCell<HashMap<&'a str, Option<Rc<regex::Regex>>>>,
}

/// Where a value is in the instance (a JSON pointer), rendered only for an error.
enum Loc<'p> {
    Root,
    Key(&'p Loc<'p>, &'p str),
    Index(&'p Loc<'p>, usize),
}

impl Loc<'_> {
    /// The JSON pointer: `/a/b~1c/0` (`~` and `/` of keys escaped), `` for the root.
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Loc::Root => {}
            Loc::Key(parent, k) => {
                parent.write(out);
                out.push('/');
                for c in k.chars() {
                    match c {
                        '~' => out.push_str("~0"),
                        '/' => out.push_str("~1"),
                        c => out.push(c),
                    }
                }
            }
            Loc::Index(parent, i) => {
                parent.write(out);
                out.push('/');
                out.push_str(&i.to_string());
            }
        }
    }
}

impl<'a> Validator<'a> {
    fn new(root: &'a Value, legacy_ref: bool) -> Self {
        Validator {
            root,
            legacy_ref,
            patterns: RefCell::new(HashMap::new()),
        }
    }

    /// The compiled expression `p` (a string of the schema), compiled once per validation.
    fn pattern(&self, p: &'a str) -> Option<Rc<regex::Regex>> {
        self.patterns
            .borrow_mut()
            .entry(p)
            .or_insert_with(|| regex::Regex::new(p).ok().map(Rc::new))
            .clone()
    }

    fn resolve(&self, r: &str) -> Option<&'a Value> {
        let frag = r.strip_prefix('#')?;
        if frag.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(&frag.replace("%25", "%"))
    }

    /// Validates `v` at `loc` against `s`; returns the error (a group when several).
    fn validate(&self, s: &'a Value, v: &Value, loc: &Loc<'_>, depth: usize) -> Option<VErr> {
        let err = |msg: String| VErr {
            at: loc.render(),
            msg,
            causes: vec![],
            skip: false,
        };
        let s = match s {
            Value::Bool(true) => return None,
            Value::Bool(false) => return Some(err("false schema".into())),
            Value::Object(m) => m,
            _ => return None,
        };
        if depth > 200 {
            return None;
        }
        let t = type_of(v);
        if let Some(types) = s.get("type") {
            let want: Vec<&str> = match types {
                Value::String(x) => vec![x.as_str()],
                Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                _ => vec![],
            };
            if !want.is_empty() {
                let is_int =
                    matches!(v, Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0));
                let matched =
                    want.contains(&t) || (want.contains(&"integer") && t == "number" && is_int);
                if !matched {
                    let mut ordered: Vec<&str> = TYPE_ORDER
                        .iter()
                        .copied()
                        .filter(|x| want.contains(x))
                        .collect();
                    if ordered.is_empty() {
                        ordered = want.clone();
                    }
                    return Some(err(format!("got {t}, want {}", ordered.join(" or "))));
                }
            }
        }
        if let Some(c) = s.get("const")
            && !json_equal(v, c)
        {
            return Some(err(match c {
                Value::Array(_) | Value::Object(_) => "const failed".into(),
                _ => format!("value must be {}", display(c)),
            }));
        }
        if let Some(Value::Array(e)) = s.get("enum")
            && !e.iter().any(|x| json_equal(v, x))
        {
            let prim = e
                .iter()
                .all(|x| !matches!(x, Value::Array(_) | Value::Object(_)));
            return Some(err(if !prim {
                "enum failed".into()
            } else if e.len() == 1 {
                format!("value must be {}", display(&e[0]))
            } else {
                format!(
                    "value must be one of {}",
                    e.iter().map(display).collect::<Vec<_>>().join(", ")
                )
            }));
        }
        if self.legacy_ref
            && let (Some(Value::String(f)), Value::String(st)) = (s.get("format"), v)
            && let Some(Err(reason)) = crate::schema_format::check(f, st)
        {
            return Some(err(format!("{} is not valid {f}: {reason}", display(v))));
        }
        let mut errors: Vec<VErr> = Vec::new();
        if let Some(Value::String(r)) = s.get("$ref")
            && let Some(target) = self.resolve(r)
        {
            let e = self.validate(target, v, loc, depth + 1).map(|c| VErr {
                at: loc.render(),
                msg: "validation failed".into(),
                causes: vec![c],
                skip: true,
            });
            if self.legacy_ref {
                return e;
            }
            errors.extend(e);
        }
        match v {
            Value::Object(obj) => self.object(s, obj, loc, depth, &mut errors),
            Value::Array(arr) => self.array(s, arr, loc, depth, &mut errors),
            Value::String(st) => {
                let n = st.chars().count() as u64;
                if let Some(m) = s.get("minLength").and_then(Value::as_f64)
                    && (n as f64) < m
                {
                    errors.push(err(format!(
                        "minLength: got {}, want {}",
                        int_str(n),
                        num_str(m)
                    )));
                }
                if let Some(m) = s.get("maxLength").and_then(Value::as_f64)
                    && (n as f64) > m
                {
                    errors.push(err(format!(
                        "maxLength: got {}, want {}",
                        int_str(n),
                        num_str(m)
                    )));
                }
                if let Some(Value::String(p)) = s.get("pattern")
                    && let Some(re) = self.pattern(p)
                    && !re.is_match(st)
                {
                    errors.push(err(format!(
                        "{} does not match pattern {}",
                        quote(st),
                        quote(p)
                    )));
                }
            }
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(0.0);
                let num = |k: &str| s.get(k).and_then(Value::as_f64);
                if let Some(m) = num("minimum")
                    && f < m
                {
                    errors.push(err(format!(
                        "minimum: got {}, want {}",
                        num_str(f),
                        num_str(m)
                    )));
                }
                if let Some(m) = num("maximum")
                    && f > m
                {
                    errors.push(err(format!(
                        "maximum: got {}, want {}",
                        num_str(f),
                        num_str(m)
                    )));
                }
                if let Some(m) = num("exclusiveMinimum")
                    && f <= m
                {
                    errors.push(err(format!(
                        "exclusiveMinimum: got {}, want {}",
                        num_str(f),
                        num_str(m)
                    )));
                }
                if let Some(m) = num("exclusiveMaximum")
                    && f >= m
                {
                    errors.push(err(format!(
                        "exclusiveMaximum: got {}, want {}",
                        num_str(f),
                        num_str(m)
                    )));
                }
                if let Some(m) = num("multipleOf")
                    && m != 0.0
                    && (f / m).fract() != 0.0
                {
                    errors.push(err(format!(
                        "multipleOf: got {}, want {}",
                        num_str(f),
                        num_str(m)
                    )));
                }
            }
            _ => {}
        }
        self.conditions(s, v, loc, depth, &mut errors);
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(VErr {
                at: loc.render(),
                msg: "validation failed".into(),
                causes: errors,
                skip: false,
            }),
        }
    }

    fn object(
        &self,
        s: &'a serde_json::Map<String, Value>,
        obj: &serde_json::Map<String, Value>,
        loc: &Loc<'_>,
        depth: usize,
        errors: &mut Vec<VErr>,
    ) {
        let err = |msg: String| VErr {
            at: loc.render(),
            msg,
            causes: vec![],
            skip: false,
        };
        if let Some(m) = s.get("minProperties").and_then(Value::as_u64)
            && (obj.len() as u64) < m
        {
            errors.push(err(format!(
                "minProperties: got {}, want {}",
                int_str(obj.len()),
                int_str(m)
            )));
        }
        if let Some(m) = s.get("maxProperties").and_then(Value::as_u64)
            && (obj.len() as u64) > m
        {
            errors.push(err(format!(
                "maxProperties: got {}, want {}",
                int_str(obj.len()),
                int_str(m)
            )));
        }
        if let Some(Value::Array(req)) = s.get("required") {
            let missing: Vec<&str> = req
                .iter()
                .filter_map(Value::as_str)
                .filter(|k| !obj.contains_key(*k))
                .collect();
            if missing.len() == 1 {
                errors.push(err(format!("missing property {}", quote(missing[0]))));
            } else if !missing.is_empty() {
                let q: Vec<String> = missing.iter().map(|m| quote(m)).collect();
                errors.push(err(format!("missing properties {}", q.join(", "))));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        let pattern_props: Vec<(Rc<regex::Regex>, &Value)> = s
            .get("patternProperties")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| self.pattern(k).map(|r| (r, v)))
                    .collect()
            })
            .unwrap_or_default();
        let mut additional = Vec::new();
        for (pname, pvalue) in obj {
            let child = Loc::Key(loc, pname);
            let mut evaluated = false;
            if let Some(sch) = props.and_then(|p| p.get(pname)) {
                evaluated = true;
                errors.extend(self.validate(sch, pvalue, &child, depth + 1));
            }
            for (re, sch) in &pattern_props {
                if re.is_match(pname) {
                    evaluated = true;
                    errors.extend(self.validate(sch, pvalue, &child, depth + 1));
                }
            }
            if !evaluated {
                match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => additional.push(pname.clone()),
                    Some(sch @ Value::Object(_)) => {
                        errors.extend(self.validate(sch, pvalue, &child, depth + 1))
                    }
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            let q: Vec<String> = additional.iter().map(|m| quote(m)).collect();
            errors.push(err(format!(
                "additional properties {} not allowed",
                q.join(", ")
            )));
        }
        if let Some(Value::Object(dr)) = s.get("dependentRequired") {
            for (pname, reqd) in dr {
                if obj.contains_key(pname) {
                    let missing: Vec<String> = reqd
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .filter(|k| !obj.contains_key(*k))
                                .map(quote)
                                .collect()
                        })
                        .unwrap_or_default();
                    if !missing.is_empty() {
                        errors.push(err(format!(
                            "properties {} required, if {} exists",
                            missing.join(", "),
                            quote(pname)
                        )));
                    }
                }
            }
        }
    }

    fn array(
        &self,
        s: &'a serde_json::Map<String, Value>,
        arr: &[Value],
        loc: &Loc<'_>,
        depth: usize,
        errors: &mut Vec<VErr>,
    ) {
        let err = |msg: String| VErr {
            at: loc.render(),
            msg,
            causes: vec![],
            skip: false,
        };
        if let Some(m) = s.get("minItems").and_then(Value::as_u64)
            && (arr.len() as u64) < m
        {
            errors.push(err(format!(
                "minItems: got {}, want {}",
                int_str(arr.len()),
                int_str(m)
            )));
        }
        if let Some(m) = s.get("maxItems").and_then(Value::as_u64)
            && (arr.len() as u64) > m
        {
            errors.push(err(format!(
                "maxItems: got {}, want {}",
                int_str(arr.len()),
                int_str(m)
            )));
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true)) {
            'outer: for i in 0..arr.len() {
                for j in i + 1..arr.len() {
                    if json_equal(&arr[i], &arr[j]) {
                        errors.push(err(format!(
                            "items at {} and {} are equal",
                            int_str(i),
                            int_str(j)
                        )));
                        break 'outer;
                    }
                }
            }
        }
        let mut evaluated = 0;
        if let Some(Value::Array(prefix)) = s.get("prefixItems") {
            evaluated = prefix.len().min(arr.len());
            for (i, item) in arr[..evaluated].iter().enumerate() {
                errors.extend(self.validate(&prefix[i], item, &Loc::Index(loc, i), depth + 1));
            }
        }
        match s.get("items") {
            Some(Value::Array(items)) => {
                let n = items.len().min(arr.len());
                for (i, item) in arr[..n].iter().enumerate() {
                    errors.extend(self.validate(&items[i], item, &Loc::Index(loc, i), depth + 1));
                }
            }
            Some(items @ (Value::Object(_) | Value::Bool(_))) => {
                for (i, item) in arr.iter().enumerate().skip(evaluated) {
                    errors.extend(self.validate(items, item, &Loc::Index(loc, i), depth + 1));
                }
            }
            _ => {}
        }
    }

    fn conditions(
        &self,
        s: &'a serde_json::Map<String, Value>,
        v: &Value,
        loc: &Loc<'_>,
        depth: usize,
        errors: &mut Vec<VErr>,
    ) {
        let group = |msg: &str, causes: Vec<VErr>| VErr {
            at: loc.render(),
            msg: msg.into(),
            causes,
            skip: false,
        };
        if let Some(n) = s.get("not")
            && self.validate(n, v, loc, depth + 1).is_none()
        {
            errors.push(group("not failed", vec![]));
        }
        if let Some(Value::Array(all)) = s.get("allOf") {
            let errs: Vec<VErr> = all
                .iter()
                .filter_map(|x| self.validate(x, v, loc, depth + 1))
                .collect();
            if !errs.is_empty() {
                errors.push(group("allOf failed", errs));
            }
        }
        if let Some(Value::Array(any)) = s.get("anyOf") {
            let mut errs = Vec::new();
            let mut matched = false;
            for x in any {
                match self.validate(x, v, loc, depth + 1) {
                    Some(e) => errs.push(e),
                    None => {
                        matched = true;
                        break;
                    }
                }
            }
            if !matched {
                errors.push(group("anyOf failed", errs));
            }
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let mut matched: Option<usize> = None;
            let mut errs = Vec::new();
            for (i, x) in one.iter().enumerate() {
                match self.validate(x, v, loc, depth + 1) {
                    Some(e) => {
                        if matched.is_none() {
                            errs.push(e)
                        }
                    }
                    None => match matched {
                        None => matched = Some(i),
                        Some(m) => {
                            errors.push(group(
                                &format!("oneOf failed, subschemas {m}, {i} matched"),
                                vec![],
                            ));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                errors.push(group("oneOf failed, none matched", errs));
            }
        }
        if let Some(cond) = s.get("if") {
            let branch = if self.validate(cond, v, loc, depth + 1).is_none() {
                s.get("then")
            } else {
                s.get("else")
            };
            if let Some(b) = branch {
                errors.extend(self.validate(b, v, loc, depth + 1));
            }
        }
    }
}

/// Validates values against one schema document; the error text as Helm prints it (after
/// its `jsonschema validation failed with …` prefix was removed), ending in `\n`.
pub fn validate_single(values: &Value, schema_json: &[u8]) -> Result<(), String> {
    let schema: Value = serde_json::from_slice(schema_json).map_err(|e| e.to_string())?;
    let legacy = schema
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            s.contains("draft-04") || s.contains("draft-06") || s.contains("draft-07")
        });
    let v = Validator::new(&schema, legacy);
    let Some(e) = v.validate(&schema, values, &Loc::Root, 0) else {
        return Ok(());
    };
    // The root error: a group's causes are listed directly.
    let causes = if e.msg == "validation failed" && !e.skip && !e.causes.is_empty() {
        e.causes
    } else {
        vec![e]
    };
    let mut out = String::new();
    for c in &causes {
        c.display(&mut out, 1);
    }
    Err(format!("{}\n", out.trim_start_matches('\n')))
}

/// Helm's `ValidateAgainstSchema`: the chart's schema, then each subchart's on its section.
pub fn validate(chart: &Chart, values: &serde_json::Map<String, Value>) -> Result<(), String> {
    validate_value(chart, &Value::Object(values.clone()))
}

/// [`validate`] on owned values, which it hands back (without copying them).
pub(crate) fn validate_owned(
    chart: &Chart,
    values: serde_json::Map<String, Value>,
) -> (serde_json::Map<String, Value>, Result<(), String>) {
    let v = Value::Object(values);
    let r = validate_value(chart, &v);
    match v {
        Value::Object(m) => (m, r),
        _ => (serde_json::Map::new(), r),
    }
}

/// [`validate`] of a values object.
fn validate_value(chart: &Chart, values: &Value) -> Result<(), String> {
    let mut sb = String::new();
    if let Some(s) = &chart.schema
        && let Err(e) = validate_single(values, s)
    {
        sb.push_str(&format!("{}:\n{e}", chart.name()));
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Null) => continue,
            Some(m @ Value::Object(_)) => {
                if let Err(e) = validate_value(sub, m) {
                    sb.push_str(&e);
                }
            }
            Some(other) => {
                let t = match other {
                    Value::Bool(_) => "bool",
                    Value::Number(n) if n.is_f64() => "float64",
                    Value::Number(_) => "int64",
                    Value::String(_) => "string",
                    _ => "[]interface {}",
                };
                sb.push_str(&format!(
                    "{}:\ninvalid type for values: expected object (map), got {t}\n",
                    sub.name()
                ));
            }
        }
    }
    if sb.is_empty() { Ok(()) } else { Err(sb) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages() {
        let schema = br#"{"type":"object","required":["employmentInfo"],"properties":{"age":{"type":"integer","minimum":0},"x":{"type":"integer"}}}"#;
        let e = validate_single(&json!({"age": -5.0}), schema).unwrap_err();
        assert_eq!(
            e,
            "- at '': missing property 'employmentInfo'\n- at '/age': minimum: got -5, want 0\n"
        );
        let e = validate_single(&json!({"employmentInfo": 1, "x": "a"}), schema).unwrap_err();
        assert_eq!(e, "- at '/x': got string, want integer\n");
        assert!(validate_single(&json!({"employmentInfo": 1, "age": 3.0}), schema).is_ok());
    }

    #[test]
    fn enums_and_refs() {
        let schema =
            br##"{"$defs":{"m":{"enum":["a","b"]}},"properties":{"m":{"$ref":"#/$defs/m"}}}"##;
        let e = validate_single(&json!({"m": "c"}), schema).unwrap_err();
        assert_eq!(e, "- at '/m': value must be one of 'a', 'b'\n");
    }

    /// A `$ref`'d pattern checks every value it applies to (compiled once, used for each);
    /// `patternProperties` use the same expressions; one that does not compile checks nothing.
    #[test]
    fn patterns_apply_to_every_value() {
        let schema = br##"{"$defs":{"d":{"type":"string","pattern":"^[0-9]+s$"}},
            "properties":{"a":{"$ref":"#/$defs/d"},"b":{"$ref":"#/$defs/d"},
            "c":{"type":"object","patternProperties":{"^[0-9]+s$":{"type":"integer"}}},
            "bad":{"pattern":"("}}}"##;
        assert!(validate_single(&json!({"a": "5s", "b": "10s", "bad": "x"}), schema).is_ok());
        let e = validate_single(&json!({"a": "5s", "b": "5m"}), schema).unwrap_err();
        assert_eq!(e, "- at '/b': '5m' does not match pattern '^[0-9]+s$'\n");
        let e =
            validate_single(&json!({"a": "x", "c": {"5s": "y", "z": 1.0}}), schema).unwrap_err();
        assert_eq!(
            e,
            "- at '/a': 'x' does not match pattern '^[0-9]+s$'\n- at '/c/5s': got string, want integer\n"
        );
    }

    /// Error locations are JSON pointers: keys escaped (`~` as `~0`, `/` as `~1`), indexes.
    #[test]
    fn locations() {
        let schema = br#"{"properties":{"a/b~c":{"items":{"type":"integer"}}}}"#;
        let e = validate_single(&json!({"a/b~c": [1.0, "x"]}), schema).unwrap_err();
        assert_eq!(e, "- at '/a~1b~0c/1': got string, want integer\n");
    }
}
