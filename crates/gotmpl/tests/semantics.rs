//! Behaviour of the language, the executor and the error values, with Go's exact texts
//! (checked against Helm v4.2.3's engine).

use gotmpl::{
    Error, ErrorKind, FuncError, FuncErrorKind, FuncMap, Function, Map, Set, Signature, Type, Value,
};

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn funcs() -> FuncMap {
    let mut f = FuncMap::default();
    f.insert(
        "include".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.include(s(&a[0]), &a[1]).map(Value::from)
        }),
    );
    f.insert(
        "tpl".into(),
        Function::with_context(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            ctx.tpl(s(&a[0]), &a[1]).map(Value::from)
        }),
    );
    f.insert(
        "name".into(),
        Function::with_context(Signature::fixed(&[]), |ctx, _| {
            Ok(Value::from(ctx.template_name().to_string()))
        }),
    );
    f.insert(
        "i64".into(),
        Function::plain(Signature::fixed(&[Type::Int64]), |a| Ok(a[0].clone())),
    );
    f.insert(
        "f64".into(),
        Function::plain(Signature::fixed(&[Type::Float64]), |a| Ok(a[0].clone())),
    );
    f.insert(
        "lst".into(),
        Function::plain(Signature::fixed(&[Type::List]), |a| Ok(a[0].clone())),
    );
    f.insert(
        "mp".into(),
        Function::plain(Signature::fixed(&[Type::Map]), |a| Ok(a[0].clone())),
    );
    f.insert(
        "strs".into(),
        Function::plain(Signature::variadic(&[Type::String], Type::String), |a| {
            Ok(Value::from(
                a.iter()
                    .map(|v| s(v).to_string())
                    .collect::<Vec<_>>()
                    .join("+"),
            ))
        }),
    );
    f.insert(
        "fail".into(),
        Function::plain(Signature::fixed(&[Type::String]), |a| {
            Err(FuncError::fail(s(&a[0])))
        }),
    );
    f.insert(
        "raw".into(),
        Function::plain(Signature::fixed(&[]), |_| {
            Err(FuncError::raw("raw message"))
        }),
    );
    f.insert(
        "u32".into(),
        Function::plain(Signature::fixed(&[Type::Uint32]), |a| Ok(a[0].clone())),
    );
    f.insert(
        "when".into(),
        Function::plain(Signature::fixed(&[Type::Object("time.Time")]), |_| {
            Ok(Value::from("ok"))
        }),
    );
    // Shadows Go's builtin `slice`, as Sprig's does.
    f.insert(
        "slice".into(),
        Function::plain(Signature::variadic(&[Type::Any], Type::Any), |_| {
            Ok(Value::from("sprig"))
        }),
    );
    f
}

fn data() -> Value {
    let mut v = Map::new();
    v.insert("i".into(), Value::Float(3.0));
    v.insert("s".into(), Value::from("hello"));
    v.insert(
        "l".into(),
        Value::list(vec![Value::Float(1.0), Value::from("a"), Value::Nil]),
    );
    let mut m = Map::new();
    m.insert("b".into(), Value::Float(2.0));
    m.insert("a".into(), Value::Float(1.0));
    m.insert("10".into(), Value::from("x"));
    v.insert("m".into(), Value::map(m));
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(v));
    Value::map(top)
}

fn run(t: &str) -> Result<String, Error> {
    let mut set = Set::new("gotpl", funcs());
    set.parse("c/templates/t.yaml", t)?;
    set.execute("c/templates/t.yaml", &data())
}

fn ok(t: &str) -> String {
    match run(t) {
        Ok(s) => s,
        Err(e) => panic!("{t:?} failed: {e}"),
    }
}

fn err(t: &str) -> String {
    match run(t) {
        Ok(s) => panic!("{t:?} succeeded with {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(ok("a {{-3}} b"), "a -3 b");
    assert_eq!(ok("a {{- 3}} b"), "a3 b");
    assert_eq!(ok("a\n\n {{- 3 -}} \n\nb"), "a3b");
    assert_eq!(ok("G {{/* c */}} H"), "G  H");
    assert_eq!(ok("x\n{{- /* c */ -}}\ny"), "xy");
    assert_eq!(ok("{{ if true }}\n  a\n{{- end }}\n"), "\n  a\n");
    assert_eq!(
        err("{{ /* c */ }}"),
        r#"template: c/templates/t.yaml:1: unexpected "/" in command"#
    );
    assert_eq!(
        err("{{/* c */ }}"),
        "template: c/templates/t.yaml:1: comment ends before closing delimiter"
    );
    assert_eq!(
        err("{{/* c"),
        "template: c/templates/t.yaml:1: unclosed comment"
    );
    // Newlines inside a comment still count for later line numbers.
    assert_eq!(
        err("{{/* a\nb */}}\n{{ nope }}"),
        r#"template: c/templates/t.yaml:3: function "nope" not defined"#
    );
}

#[test]
fn missing_values_and_nil() {
    assert_eq!(ok("[{{ .Values.nope }}]"), "[<no value>]");
    assert_eq!(ok("[{{ print .Values.nope }}]"), "[<nil>]");
    assert_eq!(ok("{{ $x := .Values.nope }}[{{ $x.a.b }}]"), "[<no value>]");
    assert_eq!(ok("[{{ (.Values.nope).a }}]"), "[<no value>]");
    assert_eq!(
        err("{{ .Values.nope.deeper }}"),
        r#"template: c/templates/t.yaml:1:10: executing "c/templates/t.yaml" at <.Values.nope.deeper>: nil pointer evaluating interface {}.deeper"#
    );
    assert_eq!(
        err("{{ .Values.i.x }}"),
        r#"template: c/templates/t.yaml:1:10: executing "c/templates/t.yaml" at <.Values.i.x>: can't evaluate field x in type interface {}"#
    );
    assert_eq!(
        err("{{ $x := 3 }}{{ $x.y }}"),
        r#"template: c/templates/t.yaml:1:18: executing "c/templates/t.yaml" at <$x.y>: can't evaluate field y in type int"#
    );
}

#[test]
fn and_or_short_circuit() {
    assert_eq!(ok("{{ and 1 0 2 }}"), "0");
    assert_eq!(ok(r#"{{ or 0 "" "x" }}"#), "x");
    assert_eq!(
        ok("[{{ and .Values.nope .Values.nope.deeper }}]"),
        "[<no value>]"
    );
    assert_eq!(ok("{{ or true .Values.nope.deeper }}"), "true");
    assert_eq!(ok("{{ 0 | or 5 }}"), "5");
    assert_eq!(
        err("{{ and }}"),
        r#"template: c/templates/t.yaml:1:3: executing "c/templates/t.yaml" at <and>: wrong number of args for and: want at least 1 got 0"#
    );
}

#[test]
fn printing() {
    assert_eq!(
        ok("{{ 1e6 }} {{ 1234567.0 }} {{ 123456.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1.5 }}"),
        "1e+06 1.234567e+06 123456 0.0001 1e-05 1.5"
    );
    assert_eq!(
        ok("{{ .Values.m }} {{ .Values.l }}"),
        "map[10:x a:1 b:2] [1 a <nil>]"
    );
    assert_eq!(ok(r#"{{ print "a" 1 2 "b" 3.5 }}"#), "a1 2b3.5");
    assert_eq!(ok(r#"{{ println "a" 1 }}"#), "a 1\n");
    assert_eq!(ok(r#"{{ printf "%d" .Values.i }}"#), "%!d(float64=3)");
    assert_eq!(ok(r#"{{ printf "%s %s" "one" }}"#), "one %!s(MISSING)");
    assert_eq!(ok(r#"{{ printf "%s" "a" "b" }}"#), "a%!(EXTRA string=b)");
    assert_eq!(ok(r#"{{ printf "%s" nil }}"#), "%!s(<nil>)");
    assert_eq!(ok(r#"{{ printf "%T" .Values.i }}"#), "float64");
    assert_eq!(
        ok(r#"{{ html "<a&b>" }} {{ js "it's <x>" }} {{ urlquery "a b&c" }}"#),
        r"&lt;a&amp;b&gt; it\'s \u003Cx\u003E a+b%26c"
    );
}

#[test]
fn control_flow() {
    assert_eq!(
        ok("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}"),
        "10=x;a=1;b=2;"
    );
    assert_eq!(ok("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(
        ok(
            "{{ range $i, $v := .Values.l }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $v }},{{ end }}"
        ),
        "1,<no value>,"
    );
    assert_eq!(
        ok("{{ range .Values.l }}{{ if not . }}{{ break }}{{ end }}{{ . }}{{ end }}"),
        "1a"
    );
    assert_eq!(
        ok("{{ range .Values.nope }}x{{ else }}none{{ end }}"),
        "none"
    );
    assert_eq!(
        ok("{{ with .Values.nope }}x{{ else with .Values.s }}{{ . }}{{ end }}"),
        "hello"
    );
    assert_eq!(
        ok("{{ if .Values.nope }}a{{ else if .Values.i }}b{{ else }}c{{ end }}"),
        "b"
    );
    assert_eq!(
        err(r#"{{ range "ab" }}x{{ end }}"#),
        r#"template: c/templates/t.yaml:1:9: executing "c/templates/t.yaml" at <"ab">: range can't iterate over ab"#
    );
    assert_eq!(
        err("{{ break }}"),
        "template: c/templates/t.yaml:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        err("{{ if }}{{ end }}"),
        "template: c/templates/t.yaml:1: missing value for if"
    );
    assert_eq!(
        err("{{ if 1 }}"),
        "template: c/templates/t.yaml:1: unexpected EOF"
    );
}

#[test]
fn variables() {
    assert_eq!(
        ok("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"),
        "2"
    );
    assert_eq!(
        err("{{ $x }}"),
        r#"template: c/templates/t.yaml:1: undefined variable "$x""#
    );
    assert_eq!(
        err("{{ $y = 1 }}"),
        r#"template: c/templates/t.yaml:1:8: executing "c/templates/t.yaml" at <1>: undefined variable: $y"#
    );
}

#[test]
fn comparisons() {
    assert_eq!(
        ok(r#"{{ eq "a" "b" "a" }} {{ eq .Values.i 3.0 }} {{ eq .Values.nope nil }}"#),
        "true true true"
    );
    assert_eq!(
        err("{{ eq .Values.i 3 }}"),
        r#"template: c/templates/t.yaml:1:3: executing "c/templates/t.yaml" at <eq .Values.i 3>: error calling eq: incompatible types for comparison: float64 and int"#
    );
    assert_eq!(ok("{{ eq (i64 3) 3 }}"), "true");
    assert_eq!(
        err("{{ lt true true }}"),
        r#"template: c/templates/t.yaml:1:3: executing "c/templates/t.yaml" at <lt true true>: error calling lt: invalid type for comparison"#
    );
}

#[test]
fn argument_conversion() {
    assert_eq!(
        err("{{ i64 1.5 }}"),
        r#"template: c/templates/t.yaml:1:7: executing "c/templates/t.yaml" at <1.5>: expected integer; found 1.5"#
    );
    assert_eq!(ok("{{ f64 3 | printf \"%T\" }}"), "float64");
    assert_eq!(ok("{{ i64 3 | printf \"%T\" }}"), "int64");
    assert_eq!(
        err("{{ 3 | f64 }}"),
        r#"template: c/templates/t.yaml:1:7: executing "c/templates/t.yaml" at <f64>: wrong type for value; expected float64; got int"#
    );
    assert_eq!(
        err("{{ strs .Values.nope }}"),
        r#"template: c/templates/t.yaml:1:15: executing "c/templates/t.yaml" at <.Values.nope>: wrong type for value; expected string; got interface {}"#
    );
    assert_eq!(
        err("{{ .Values.nope | strs }}"),
        r#"template: c/templates/t.yaml:1:18: executing "c/templates/t.yaml" at <strs>: invalid value; expected string"#
    );
    assert_eq!(
        err("{{ strs }}"),
        r#"template: c/templates/t.yaml:1:3: executing "c/templates/t.yaml" at <strs>: wrong number of args for strs: want at least 1 got 0"#
    );
    assert_eq!(ok(r#"{{ strs "a" "b" "c" }}"#), "a+b+c");
    assert_eq!(
        err(r#"{{ strs "a" nil }}"#),
        r#"template: c/templates/t.yaml:1:12: executing "c/templates/t.yaml" at <nil>: cannot assign nil to string"#
    );
    assert_eq!(ok("{{ lst .Values.l }}"), "[1 a <nil>]");
    assert_eq!(ok("{{ lst nil }}"), "[]");
    assert_eq!(
        err("{{ lst .Values.m }}"),
        r#"template: c/templates/t.yaml:1:14: executing "c/templates/t.yaml" at <.Values.m>: wrong type for value; expected []interface {}; got map[string]interface {}"#
    );
    assert_eq!(ok("{{ mp .Values.m }}"), "map[10:x a:1 b:2]");
    assert_eq!(ok(r#"{{ slice "abc" 1 }}"#), "sprig");
}

#[test]
fn error_values() {
    let mut set = Set::new("gotpl", funcs());
    set.parse(
        "c/templates/_h.tpl",
        "{{ define \"h\" }}\n  {{ fail \"boom\" }}{{ end }}",
    )
    .unwrap();
    set.parse("c/templates/t.yaml", "x: {{ include \"h\" . }}")
        .unwrap();
    let e = set.execute("c/templates/t.yaml", &data()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Exec);
    assert_eq!(
        (e.file.as_str(), e.line, e.col),
        ("c/templates/t.yaml", 1, Some(6))
    );
    assert_eq!(e.node.as_deref(), Some(r#"include "h" ."#));
    let f = e.func.as_ref().unwrap();
    assert_eq!((f.name.as_str(), f.kind), ("include", FuncErrorKind::Call));
    assert_eq!(
        f.message,
        r#"template: c/templates/_h.tpl:2:5: executing "h" at <fail "boom">: error calling fail: boom"#
    );
    assert_eq!(e.location(), "c/templates/t.yaml:1:6");

    let e = run("a\n  {{ fail \"x\" }}").unwrap_err();
    assert_eq!(e.func.as_ref().unwrap().kind, FuncErrorKind::Fail);
    assert_eq!(
        e.to_string(),
        r#"template: c/templates/t.yaml:2:5: executing "c/templates/t.yaml" at <fail "x">: error calling fail: x"#
    );
    assert_eq!(
        run("{{ raw }}").unwrap_err().to_string(),
        r#"template: c/templates/t.yaml:1:3: executing "c/templates/t.yaml" at <raw>: raw message"#
    );
    let e = run("\n\n{{ if }}").unwrap_err();
    assert_eq!((e.kind, e.line, e.col), (ErrorKind::Parse, 3, None));
    let e = set.execute("nope", &data()).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"template: no template "nope" associated with template "gotpl""#
    );
}

#[test]
fn templates_include_tpl() {
    let mut set = Set::new("gotpl", funcs());
    // Helm parses `_b.tpl` before `_a.tpl`: the later definition wins.
    set.parse("c/templates/_b.tpl", r#"{{ define "x" }}from-b{{ end }}"#)
        .unwrap();
    set.parse(
        "c/templates/_a.tpl",
        r#"{{ define "x" }}from-a{{ end }}{{ define "e" }} {{ end }}"#,
    )
    .unwrap();
    // An empty definition does not replace a non-empty one.
    set.parse("c/templates/_c.tpl", r#"{{ define "x" }}  {{ end }}"#)
        .unwrap();
    set.parse(
        "c/templates/t.yaml",
        concat!(
            r#"{{ template "x" }} {{ include "x" . | printf "%q" }} {{ name }}"#,
            r#" {{ tpl "{{ define \"y\" }}Y{{ end }}{{ template \"y\" }}{{ .nope }}!" . }}"#,
            r#" {{ block "blk" . }}B{{ end }}"#,
            r#" {{ define "n" }}{{ name }}{{ end }}{{ include "n" . }}"#
        ),
    )
    .unwrap();
    assert_eq!(
        set.execute("c/templates/t.yaml", &data()).unwrap(),
        r#"from-a "from-a" c/templates/t.yaml Y! B c/templates/t.yaml"#
    );
    // `tpl` text is parsed under the root name; its defines do not leak out.
    assert!(!set.contains("y"));
    let mut s2 = Set::new("gotpl", funcs());
    s2.parse("t", r#"{{ tpl "{{ .x.y }}" .Values }}"#).unwrap();
    assert_eq!(
        s2.execute("t", &data())
            .unwrap_err()
            .func
            .clone()
            .unwrap()
            .message,
        r#"error during tpl function execution for "{{ .x.y }}": template: gotpl:1:5: executing "gotpl" at <.x.y>: nil pointer evaluating interface {}.y"#
    );
    s2.parse("u", r#"{{ tpl "{{ nope }}" . }}"#).unwrap();
    assert_eq!(
        s2.execute("u", &data())
            .unwrap_err()
            .func
            .clone()
            .unwrap()
            .message,
        r#"cannot parse template "{{ nope }}": template: gotpl:1: function "nope" not defined"#
    );
}

#[test]
fn recursion_limits() {
    let mut set = Set::new("gotpl", funcs());
    set.parse(
        "t",
        r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#,
    )
    .unwrap();
    let e = set.execute("t", &data()).unwrap_err().to_string();
    assert!(e.ends_with("error calling include: rendering template has a nested reference name: r: unable to execute template"), "{}", &e[e.len() - 200..]);
    assert_eq!(e.matches("error calling include").count(), 1002);

    let mut set = Set::new("gotpl", funcs());
    set.parse(
        "t",
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
    )
    .unwrap();
    let e = set.execute("t", &data()).unwrap_err().to_string();
    assert_eq!(
        e,
        r#"template: t:1:28: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (100000)"#
    );
    assert_eq!(
        err(&format!(
            "{{{{{}1{}}}}}",
            "(".repeat(10001),
            ")".repeat(10001)
        )),
        "template: c/templates/t.yaml:1: max expression depth exceeded"
    );
}

#[test]
fn sets_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Set>();
    let mut set = Set::new("gotpl", funcs());
    set.parse("t", "{{ .x }}").unwrap();
    let set = std::sync::Arc::new(set);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let set = set.clone();
            std::thread::spawn(move || {
                let mut m = Map::new();
                m.insert("x".into(), Value::Float(i as f64));
                set.execute("t", &Value::map(m)).unwrap()
            })
        })
        .collect();
    let outs: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outs, ["0", "1", "2", "3"]);
}

/// A Go named map type with methods, like Helm's `Files` (`map[string][]byte`).
struct NamedMap;

impl gotmpl::Object for NamedMap {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind(&self) -> &str {
        "map"
    }
    fn method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, FuncError>> {
        (name == "Get").then(|| Ok(Value::from("got")))
    }
    fn format(&self) -> String {
        "map[a:[104] b:[105]]".into()
    }
    fn collection(&self) -> Option<Value> {
        let mut m = Map::new();
        m.insert("b".into(), Value::Bytes(std::rc::Rc::from(&b"i"[..])));
        m.insert("a".into(), Value::Bytes(std::rc::Rc::from(&b"h"[..])));
        Some(Value::map(m))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn objects_that_are_maps() {
    let mut set = Set::new("gotpl", funcs());
    set.parse(
        "t",
        r#"{{ range $k, $v := .f }}{{ $k }}={{ printf "%s" $v }};{{ end }} {{ len .f }} {{ index .f "a" }} {{ .f.Get "x" }} {{ .f }}"#,
    )
    .unwrap();
    let mut top = Map::new();
    top.insert("f".into(), Value::object(NamedMap));
    assert_eq!(
        set.execute("t", &Value::map(top)).unwrap(),
        "a=h;b=i; 2 [104] got map[a:[104] b:[105]]"
    );
}

#[test]
fn typed_nils_from_nil_arguments() {
    // `nil` passed to a map or slice parameter is that type's nil: it reads as empty.
    assert_eq!(
        ok("{{ mp nil }}|{{ len (mp nil) }}|{{ (mp nil).x }}"),
        "map[]|0|<no value>"
    );
    assert_eq!(ok("{{ lst nil }}|{{ len (lst nil) }}"), "[]|0");
    assert!(Value::nil_map().is_typed_nil());
    assert!(!Value::map(Map::new()).is_typed_nil());
    assert_eq!(Value::nil_map().type_name(), "map[string]interface {}");
    assert_eq!(
        Value::nil_list(gotmpl::ElemType::String).type_name(),
        "[]string"
    );
}

#[test]
fn values_map_type() {
    let v = Value::typed_map(gotmpl::MapType::Values, Map::new());
    assert_eq!(v.type_name(), "common.Values");
    assert_eq!(v.kind_name(), "map");
    let mut set = Set::new("gotpl", funcs());
    set.parse("t", "{{ mp . | len }}|{{ .a }}").unwrap();
    assert_eq!(set.execute("t", &v).unwrap(), "0|<no value>");
}

#[test]
fn complex_literals() {
    assert_eq!(
        ok("{{ 1i }}|{{ 1+2i }}|{{ 1.5-2i }}|{{ 1e3i }}"),
        "(0+1i)|(1+2i)|(1.5-2i)|(0+1000i)"
    );
    assert_eq!(ok("{{ f64 3+0i }}|{{ i64 3+0i }}"), "3|3");
    assert!(err("{{ 0x10i }}").contains(r#"illegal number syntax: "0x10i""#));
}

#[test]
fn float_hex_and_binary_verbs() {
    assert_eq!(
        ok(r#"{{ printf "%x|%X|%.3x|%.0x|%b|%b" 1.5 -2.25 1.0 1.5 3.0 0.0 }}"#),
        "0x1.8p+00|-0X1.2P+01|0x1.000p+00|0x1p+01|6755399441055744p-51|0p-1074"
    );
}

#[test]
fn uint32_and_object_parameter_errors() {
    assert_eq!(ok("{{ u32 4294967297 }}"), "1");
    assert!(err("{{ u32 -1 }}").ends_with("expected unsigned integer; found -1"));
    assert!(err("{{ u32 nil }}").ends_with("cannot assign nil to uint32"));
    assert!(err("{{ u32 (i64 1) }}").ends_with("wrong type for value; expected uint32; got int64"));
    assert!(err(r#"{{ when "x" }}"#).ends_with(r#"can't handle "x" for arg of type time.Time"#));
    assert!(err("{{ when nil }}").ends_with("cannot assign nil to time.Time"));
    assert!(err("{{ when 1.5 }}").ends_with("can't handle 1.5 for arg of type time.Time"));
    assert!(
        err("{{ when (i64 1) }}").ends_with("wrong type for value; expected time.Time; got int64")
    );
}

#[test]
fn call_names_a_piped_callee_as_go_does() {
    assert!(err("{{ lst nil | call }}").ends_with(
        "error calling call: non-function <[]interface {} Value> of type []interface {}"
    ));
    assert!(
        err(r#"{{ "f" | call }}"#).ends_with("error calling call: non-function f of type string")
    );
}

/// `Set::parse_shared` keeps the caller's text (every tree of the file, defines included,
/// shares it) and renders as `Set::parse` does.
#[test]
fn parse_shared_keeps_the_callers_text() {
    let text: std::sync::Arc<str> =
        std::sync::Arc::from(r#"{{define "d"}}[{{.}}]{{end}}a{{template "d" 1}}b"#);
    let mut shared = Set::new("gotpl", funcs());
    shared.parse_shared("f", text.clone()).unwrap();
    for name in ["f", "d"] {
        let tree = shared.tree(name).unwrap();
        assert!(std::sync::Arc::ptr_eq(&tree.text, &text), "{name}");
    }
    let mut copied = Set::new("gotpl", funcs());
    copied.parse("f", &text).unwrap();
    assert!(!std::sync::Arc::ptr_eq(
        &copied.tree("f").unwrap().text,
        &text
    ));
    assert_eq!(
        shared.execute("f", &Value::Nil).unwrap(),
        copied.execute("f", &Value::Nil).unwrap()
    );
    assert_eq!(shared.execute("f", &Value::Nil).unwrap(), "a[1]b");
}
