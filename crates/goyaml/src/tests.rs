//! Unit tests with outputs checked against Helm v4.2.3 (see also `tests/golden.rs`).

use std::rc::Rc;

use gotmpl::{Map, Value};

use crate::*;

fn v(yaml: &str) -> Value {
    from_yaml_map(yaml).unwrap_or_else(|e| panic!("{yaml:?}: {e}"))
}

fn err(yaml: &str) -> String {
    match from_yaml_map(yaml) {
        Ok(v) => panic!("{yaml:?} parsed: {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn json(yaml: &str) -> String {
    to_json(&v(yaml)).unwrap_or_else(|e| panic!("{e}"))
}

fn yaml(text: &str) -> String {
    to_yaml(&v(text)).unwrap_or_else(|e| panic!("{e}"))
}

fn dict(entries: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, val) in entries {
        m.insert(k.to_string(), val.clone());
    }
    Value::map(m)
}

#[test]
fn yaml11_resolution() {
    assert_eq!(
        json("a: [y, n, yes, no, on, off, True, FALSE, ~, null, '']"),
        r#"{"a":[true,false,true,false,true,false,true,false,null,null,""]}"#
    );
    assert_eq!(
        json("y: 1\nn: 2\non: 3\noff: 4\n"),
        r#"{"false":4,"true":3}"#
    );
    assert_eq!(
        json("a: [0755, 0o17, 0x1F, 0b1010, +12, 1_000, 09, -0x1F]"),
        r#"{"a":[493,15,31,10,12,1000,9,-31]}"#
    );
    assert_eq!(
        json("a: [190:20:30, 2024-01-02, 1e400, 1.5.3]"),
        r#"{"a":["190:20:30","2024-01-02","1e400","1.5.3"]}"#
    );
    assert_eq!(
        json("a: [1e3, .5, 2., 12345678901234567890]"),
        r#"{"a":[1000,0.5,2,12345678901234567000]}"#
    );
    assert_eq!(
        json("1: a\n2.5: b\n3.14159265358979: c\ntrue: d\n"),
        r#"{"1":"a","2.5":"b","3.1415927":"c","true":"d"}"#
    );
}

#[test]
fn numbers_are_float64() {
    let m = v("i: 3\nf: 1.5\n");
    let Value::Map(m) = m else {
        panic!("not a map")
    };
    let e = m.entries.borrow();
    assert!(matches!(e.get("i"), Some(Value::Float(f)) if *f == 3.0));
    assert!(matches!(e.get("f"), Some(Value::Float(f)) if *f == 1.5));
}

#[test]
fn anchors_merges_duplicates() {
    assert_eq!(
        json("a: &x {b: 1}\nc: *x\n"),
        r#"{"a":{"b":1},"c":{"b":1}}"#
    );
    assert_eq!(
        json("b: &b {x: 1, z: 2}\nd:\n  <<: *b\n  z: 3\n"),
        r#"{"b":{"x":1,"z":2},"d":{"x":1,"z":3}}"#
    );
    // goyaml v2: a merge after an explicit key overrides it
    assert_eq!(
        json("a: &a {x: 1}\nc:\n  x: 0\n  <<: *a\n"),
        r#"{"a":{"x":1},"c":{"x":1}}"#
    );
    assert_eq!(json("a: 1\na: 2\n"), r#"{"a":2}"#);
}

#[test]
fn parse_errors_match_goyaml() {
    let pre = "error converting YAML to JSON: yaml: ";
    assert_eq!(
        err("a: [1, 2\n"),
        format!("{pre}line 1: did not find expected ',' or ']'")
    );
    assert_eq!(
        err("a:\n\tb: 1\n"),
        format!("{pre}line 2: found character that cannot start any token")
    );
    assert_eq!(
        err("a: 1\n\tb: 2\n"),
        format!("{pre}line 2: found a tab character that violates indentation")
    );
    assert_eq!(
        err("a: b: c\n"),
        format!("{pre}mapping values are not allowed in this context")
    );
    assert_eq!(
        err("a: [1, 2]]\n"),
        format!("{pre}did not find expected key")
    );
    assert_eq!(
        err("key: value\n- item\n"),
        format!("{pre}line 1: did not find expected key")
    );
    assert_eq!(
        err("a:\n b: 1\n  c: 2\n"),
        format!("{pre}line 3: mapping values are not allowed in this context")
    );
    assert_eq!(
        err("a: 'x\n"),
        format!("{pre}line 2: found unexpected end of stream")
    );
    assert_eq!(
        err("a: *nope\n"),
        format!("{pre}unknown anchor 'nope' referenced")
    );
    assert_eq!(
        err("a: &x\n  b: *x\n"),
        format!("{pre}anchor 'x' value contains itself")
    );
    assert_eq!(
        err("a: !!int abc\n"),
        format!("{pre}cannot decode !!str `abc` as a !!int")
    );
    assert_eq!(
        err("? [a, b]\n: v\n"),
        format!("{pre}invalid map key: []interface {{}}{{\"a\", \"b\"}}")
    );
    assert_eq!(
        err("%YAML 1.2\n---\na: 1\n"),
        format!("{pre}found incompatible YAML document")
    );
    assert_eq!(
        err("a: b\u{1}c\n"),
        format!("{pre}control characters are not allowed")
    );
    assert_eq!(
        err("a: .inf\n"),
        "error converting YAML to JSON: json: unsupported value: +Inf"
    );
    assert_eq!(
        err("a: [.nan]\n"),
        "error converting YAML to JSON: json: unsupported value: NaN"
    );
    assert_eq!(
        err("~: 1\n"),
        "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: 1"
    );
    assert_eq!(
        err("- 1\n"),
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
}

#[test]
fn json_writer() {
    let s = Value::from("<a href='x'>&\u{2028}\u{1}\u{7f}");
    assert_eq!(
        to_json(&s).unwrap(),
        "\"\\u003ca href='x'\\u003e\\u0026\\u2028\\u0001\u{7f}\""
    );
    assert_eq!(
        to_raw_json(&s).unwrap(),
        "\"<a href='x'>&\\u2028\\u0001\u{7f}\""
    );
    let floats = Value::list(vec![
        Value::Float(1e6),
        Value::Float(1e20),
        Value::Float(1e21),
        Value::Float(0.000001),
        Value::Float(1e-7),
        Value::Float(100.0),
        Value::Float(-0.0),
        Value::Int(3),
        Value::Int64(-4),
    ]);
    assert_eq!(
        to_json(&floats).unwrap(),
        "[1000000,100000000000000000000,1e+21,0.000001,1e-7,100,-0,3,-4]"
    );
    assert_eq!(
        to_json(&Value::Float(f64::NAN)).unwrap_err().to_string(),
        "json: unsupported value: NaN"
    );
    assert_eq!(
        to_json(&Value::Float(f64::INFINITY))
            .unwrap_err()
            .to_string(),
        "json: unsupported value: +Inf"
    );
    assert_eq!(
        to_json(&Value::Bytes(Rc::from(&b"hi"[..]))).unwrap(),
        "\"aGk=\""
    );
    let d = dict(&[
        ("b", Value::list(vec![])),
        ("a", dict(&[])),
        ("c", Value::Nil),
    ]);
    assert_eq!(to_json(&d).unwrap(), r#"{"a":{},"b":[],"c":null}"#);
    assert_eq!(
        to_pretty_json(&dict(&[
            ("a", Value::list(vec![Value::Int(1)])),
            ("b", dict(&[]))
        ]))
        .unwrap(),
        "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}"
    );
}

#[test]
fn json_reader() {
    assert_eq!(
        to_json(&from_json(r#"{"b":[1,2.5,"x",true,null],"a":{}}"#).unwrap()).unwrap(),
        r#"{"a":{},"b":[1,2.5,"x",true,null]}"#
    );
    let e = |s: &str| from_json(s).unwrap_err().to_string();
    assert_eq!(
        e("x"),
        "invalid character 'x' looking for beginning of value"
    );
    assert_eq!(e(""), "unexpected end of JSON input");
    assert_eq!(e("{\"a\""), "unexpected end of JSON input");
    assert_eq!(
        e("tru"),
        "invalid character ' ' in literal true (expecting 'e')"
    );
    assert_eq!(e("[1 2]"), "invalid character '2' after array element");
    assert_eq!(e("{\"a\" 1}"), "invalid character '1' after object key");
    assert_eq!(
        e("{\"a\":1,}"),
        "invalid character '}' looking for beginning of object key string"
    );
    assert_eq!(e("01"), "invalid character '1' after top-level value");
    assert_eq!(e("\"a\tb\""), "invalid character '\\t' in string literal");
    assert_eq!(
        e("1e400"),
        "json: cannot unmarshal number 1e400 into Go value of type float64"
    );
    assert_eq!(
        from_json_map("[1]").unwrap_err().to_string(),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    let nil_map = from_json_map("null").unwrap();
    assert!(nil_map.is_typed_nil() && nil_map.type_name() == "map[string]interface {}");
    assert_eq!(crate::to_json(&nil_map).unwrap(), "null");
    let nil_list = from_json_list("null").unwrap();
    assert!(nil_list.is_typed_nil() && nil_list.type_name() == "[]interface {}");
    assert!(!from_json_map("{}").unwrap().is_typed_nil());
}

#[test]
fn yaml_writer_quoting() {
    assert_eq!(
        yaml(
            "l: [\"yes\", \"n\", \"123\", \"1.0\", \"0755\", \"2024-01-02\", \"\", \"~\", \"190:20:30\", \"<<\"]"
        ),
        "l:\n- \"yes\"\n- \"n\"\n- \"123\"\n- \"1.0\"\n- \"0755\"\n- \"2024-01-02\"\n- \"\"\n- \"~\"\n- \"190:20:30\"\n- <<\n"
    );
    assert_eq!(
        yaml("l: ['&x', '- x', 'a: b', 'a #b', ' x', \"it's\", 'a:b', '<b>&</b>']"),
        "l:\n- '&x'\n- '- x'\n- 'a: b'\n- 'a #b'\n- ' x'\n- it's\n- a:b\n- <b>&</b>\n"
    );
    assert_eq!(
        yaml("l: [\"a\\tb\", \"\\U0001F600\", \"\\u00e9\"]"),
        "l:\n- \"a\\tb\"\n- \"\\U0001F600\"\n- é\n"
    );
    assert_eq!(
        yaml("k: {}\nl: []\ne: ''\nn: null\n\"n\": x\n"),
        "e: \"\"\n\"false\": null\nk: {}\nl: []\n\"n\": x\n"
    );
}

#[test]
fn yaml_writer_blocks_and_folding() {
    assert_eq!(
        yaml("a: \"x\\ny\\n\"\nb: \"x\\ny\"\nc: \"x\\n\\n\"\nd: \" x\\ny\"\n"),
        "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\nd: |2-\n   x\n  y\n"
    );
    assert_eq!(yaml("q: \"a \\nb\"\n"), "q: \"a \\nb\"\n");
    assert_eq!(
        yaml(
            "long: this is a very long line of text that goes beyond the eighty column limit of yaml emitters okay\n"
        ),
        "long: this is a very long line of text that goes beyond the eighty column limit of\n  yaml emitters okay\n"
    );
    let key = "k".repeat(129);
    assert_eq!(yaml(&format!("{key}: 1\n")), format!("? {key}\n: 1\n"));
    assert_eq!(
        yaml("a:\n- b: 1\n  c: [x]\n- - y\n  - \"y\"\n"),
        "a:\n- b: 1\n  c:\n  - x\n- - true\n  - \"y\"\n"
    );
}

#[test]
fn yaml_writer_key_order_and_numbers() {
    assert_eq!(
        yaml("b: 1\na10: 2\na9: 3\nA: 4\n_x: 5\n\"10\": 6\n\"9\": 7\n"),
        "_x: 5\n\"9\": 7\n\"10\": 6\nA: 4\na9: 3\na10: 2\nb: 1\n"
    );
    let nums = dict(&[
        ("a", Value::Float(1e6)),
        ("b", Value::Float(0.00001)),
        ("c", Value::Float(1.5)),
        ("d", Value::Float(12345678901234567890.0)),
        ("e", Value::Float(1e20)),
        ("f", Value::Int(3)),
    ]);
    assert_eq!(
        to_yaml(&nums).unwrap(),
        "a: 1000000\nb: 1e-05\nc: 1.5\nd: 12345678901234567000\ne: 1e+20\nf: 3\n"
    );
    assert_eq!(to_yaml(&Value::Nil).unwrap(), "null\n");
    assert_eq!(
        to_yaml(&Value::Float(f64::NAN)).unwrap_err().to_string(),
        "error marshaling into JSON: json: unsupported value: NaN"
    );
}

#[test]
fn yaml_pretty_indents_lists() {
    let d = dict(&[
        (
            "a",
            Value::list(vec![Value::Int(1), dict(&[("b", Value::from("on"))])]),
        ),
        ("f", Value::Float(1e6)),
    ]);
    assert_eq!(to_yaml_pretty(&d), "a:\n  - 1\n  - b: \"on\"\nf: 1e+06\n");
}

#[test]
fn toml_encoder() {
    let d = dict(&[
        ("a", Value::Int(1)),
        ("f", Value::Float(100.0)),
        ("g", Value::Float(1e20)),
        ("s", Value::from("q\"\u{7f}")),
        (
            "t",
            dict(&[
                ("x", Value::Bool(true)),
                ("sub", dict(&[("y", Value::Int(2))])),
            ]),
        ),
        ("arr", Value::list(vec![dict(&[("k", Value::Int(1))])])),
        ("n", Value::Nil),
    ]);
    assert_eq!(
        to_toml(&d).unwrap(),
        "a = 1\nf = 100.0\ng = 1e+20\ns = \"q\\\"\\u007f\"\n\n[[arr]]\n  k = 1\n\n[t]\n  x = true\n  [t.sub]\n    y = 2\n"
    );
    assert_eq!(
        to_toml(&Value::list(vec![Value::Int(1), Value::Nil]))
            .unwrap_err()
            .to_string(),
        "toml: cannot encode array with nil element"
    );
    assert_eq!(to_toml(&Value::from("x")).unwrap(), "\"x\"");
}

#[test]
fn values_loader() {
    assert_eq!(
        to_json(&load_values("a: 1\nm: {x: 1}\n---\nb: 2\nm: {z: 2}\n").unwrap()).unwrap(),
        r#"{"a":1,"b":2,"m":{"x":1,"z":2}}"#
    );
    assert_eq!(
        load_values("a: 1\n--- x\n").unwrap_err().to_string(),
        "error reading yaml document: invalid Yaml document separator: x"
    );
    assert_eq!(
        load_values("- 1\n").unwrap_err().to_string(),
        "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    assert_eq!(
        split_yaml_documents("---\na: 1\r\n---\n\n---\nb: 2").unwrap(),
        vec!["a: 1\n".to_string(), "\n".to_string(), "b: 2\n".to_string()]
    );
}

#[test]
fn kubernetes_json_keeps_integers() {
    let j = yaml_to_json_value(
        "replicas: 3\nratio: 1.5\nwhole: 2.0\nbig: 18446744073709551615\non: yes\n",
    )
    .unwrap();
    assert_eq!(
        j.to_string(),
        r#"{"big":18446744073709551615,"ratio":1.5,"replicas":3,"true":true,"whole":2}"#
    );
    let docs = yaml_stream_to_json_values("a: 1\n---\nb: [x]\n").unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].to_string(), r#"{"b":["x"]}"#);
}

#[test]
fn manifest_heads() {
    let h = parse_head(
        "apiVersion: 1.10\nkind: 3\nmetadata:\n  name: 12\n  annotations:\n    a: 1\n    b: true\n",
    )
    .unwrap();
    assert_eq!(h.api_version, "1.1");
    assert_eq!(h.kind, "3");
    assert_eq!(h.name.as_deref(), Some("12"));
    assert_eq!(h.annotations.get("b").map(String::as_str), Some("true"));
    let e = parse_head("kind: {a: 1}\n").unwrap_err();
    assert_eq!(
        head_error("c/templates/t.yaml", &e),
        "YAML parse error on c/templates/t.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go struct field SimpleHead.kind of type string"
    );
    let e = parse_head("a: [1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"
    );
    assert_eq!(parse_head("# only a comment\n").unwrap(), Head::default());
}

#[test]
fn functions_registered() {
    let f = functions();
    for name in [
        "toYaml",
        "mustToYaml",
        "toYamlPretty",
        "fromYaml",
        "fromYamlArray",
        "toToml",
        "mustToToml",
        "fromToml",
        "toJson",
        "mustToJson",
        "fromJson",
        "fromJsonArray",
        "mustFromJson",
        "toPrettyJson",
        "mustToPrettyJson",
        "toRawJson",
        "mustToRawJson",
    ] {
        assert!(f.contains_key(name), "{name}");
    }
    assert_eq!(f.len(), 17);
}

#[test]
fn deep_nesting_is_bounded() {
    // Depth up to the limit works on an ordinary 2 MiB thread stack (debug build included);
    // deeper documents fail with an error instead of overflowing the stack.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let ok = format!("a: {}1{}\n", "[".repeat(250), "]".repeat(250));
            let v = from_yaml_map(&ok).expect("250 levels parse");
            assert!(to_json(&v).is_ok());
            assert!(to_yaml(&v).is_ok());
            assert!(!to_yaml_pretty(&v).is_empty());
            let maps = format!("a: {}1{}\n", "{a: ".repeat(250), "}".repeat(250));
            let v = from_yaml_map(&maps).expect("250 map levels parse");
            assert!(to_yaml(&v).is_ok());
            drop(v);
            let deep = format!("a: {}{}\n", "[".repeat(20000), "]".repeat(20000));
            assert_eq!(
                from_yaml_map(&deep).unwrap_err().to_string(),
                "error converting YAML to JSON: yaml: exceeded max depth of 256"
            );
        })
        .expect("thread");
    handle.join().expect("no stack overflow");
}

#[test]
fn typed_values_for_structs() {
    let v = from_yaml_typed(
        "appVersion: 1.10\nversion: 0.1.0\nbig: 12345678901\nf: 3.14159265358979\ne: 1e7\nb: yes\n",
    )
    .unwrap();
    let TypedValue::Map(m) = v else {
        panic!("not a map")
    };
    let s = |k: &str| m.get(k).and_then(TypedValue::as_go_string);
    assert_eq!(s("appVersion").as_deref(), Some("1.1"));
    assert_eq!(s("version").as_deref(), Some("0.1.0"));
    assert_eq!(s("big").as_deref(), Some("12345678901"));
    assert_eq!(s("f").as_deref(), Some("3.1415927"));
    assert_eq!(s("e").as_deref(), Some("1e+07"));
    assert_eq!(s("b").as_deref(), Some("true"));
}

#[test]
fn long_json_keys_fail_the_yaml_round_trip() {
    // goyaml's 1024-character limit on simple keys applies to the JSON text toYaml re-reads.
    let ok = dict(&[(&"k".repeat(1022), Value::from("v"))]);
    assert!(to_yaml(&ok).is_ok());
    let long = dict(&[(&"k".repeat(1023), Value::from("v"))]);
    assert_eq!(
        to_yaml(&long).unwrap_err().to_string(),
        "yaml: did not find expected ',' or '}'"
    );
    let escaped = dict(&[(&"<".repeat(200), Value::from("v"))]);
    assert!(to_yaml(&escaped).is_err());
}

/// `parse_head` skims the entries it does not read: same heads and errors as building them.
#[test]
fn head_skimming_matches_the_full_decode() {
    const ROOT: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "Kind",
        "METADATA",
        "spec",
        "status",
        "data",
        "'spec'",
        "\"metadata\"",
        "<<",
        "~",
        "null",
        "1",
        "1.5",
        "true",
        "18446744073709551615",
        "-1",
    ];
    const VALS: &[&str] = &[
        "v",
        "1",
        ".inf",
        "-.Inf",
        ".nan",
        "+.inf",
        "-1",
        "+1",
        "-.5",
        ".5",
        "~",
        "'x'",
        "[]",
        "{}",
        "[a, .inf]",
        "|\n    text",
        "\"q\"",
        "0x1F",
        "-",
        "-x",
    ];
    const KEYS: &[&str] = &[
        "a",
        "name",
        "annotations",
        "<<",
        "~",
        "null",
        "Null",
        "",
        "18446744073709551616",
        "9223372036854775808",
        "-9223372036854775809",
        "1",
        "'<<'",
        ".inf",
        "true",
        "x y",
    ];
    let mut below = testkit::rand::below_fn(0x2545_F491_4F6C_DD1D);
    let mut skimmed = 0;
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..1 + below(5) {
            s.push_str(ROOT[below(ROOT.len())]);
            s.push(':');
            match below(4) {
                0 => {
                    s.push(' ');
                    s.push_str(VALS[below(VALS.len())]);
                    s.push('\n');
                }
                1 => {
                    s.push('\n');
                    for _ in 0..1 + below(3) {
                        s.push_str("  - ");
                        s.push_str(VALS[below(VALS.len())]);
                        s.push('\n');
                    }
                }
                _ => {
                    s.push('\n');
                    for _ in 0..1 + below(4) {
                        s.push_str("  ");
                        s.push_str(KEYS[below(KEYS.len())]);
                        s.push_str(": ");
                        if below(3) == 0 {
                            s.push('\n');
                            s.push_str("    ");
                            s.push_str(KEYS[below(KEYS.len())]);
                            s.push_str(": ");
                        }
                        s.push_str(VALS[below(VALS.len())]);
                        s.push('\n');
                    }
                }
            }
        }
        let fast = parse_head_with(&s, true);
        let full = parse_head_with(&s, false);
        assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{s}");
        if let (Some(skim), Some(all)) = (
            crate::fast::parse_filtered(&s, is_head_key),
            crate::fast::parse(&s),
        ) && skim.nodes.len() < all.nodes.len()
        {
            skimmed += 1;
        }
    }
    assert!(skimmed > 600, "only {skimmed} documents were skimmed");
}

/// A small deterministic generator of template values with awkward strings, keys and numbers.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    fn string(&mut self) -> String {
        const PARTS: &[&str] = &[
            "a",
            "x1",
            "yes",
            "on",
            "1.5",
            "12:30",
            "",
            " ",
            "  ",
            "- x",
            "-",
            "#a",
            " #b",
            "a: b",
            ":",
            "?",
            "\t",
            "\n",
            "\r\n",
            "\u{85}",
            "\u{7f}",
            "\u{9f}",
            "\u{a0}",
            "é",
            "\u{2028}",
            "\u{feff}",
            "\u{fffe}",
            "😀",
            "'",
            "\"",
            "\\",
            "---",
            "...",
            "{",
            "[",
            ",",
            "&a",
            "*",
            "!",
            "|",
            ">",
            "%",
            "@",
            "`",
            "null",
            "~",
            "0x1F",
            "1e3",
            "0o7",
            ".inf",
            "2001-12-14",
            "word ",
            "folding text that goes on and on ",
        ];
        let n = self.next(6);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(PARTS[self.next(PARTS.len())]);
        }
        if self.next(8) == 0 {
            s = s.repeat(1 + self.next(40));
        }
        s
    }

    fn value(&mut self, depth: usize) -> Value {
        const FLOATS: &[f64] = &[
            0.0,
            -0.0,
            1.0,
            -3.0,
            1.5,
            1e6,
            1e-5,
            1e20,
            1e21,
            9e15,
            9007199254740993.0,
            12345678901234567890.0,
            -1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ];
        let k = if depth >= 4 {
            self.next(9)
        } else {
            self.next(13)
        };
        match k {
            0 => Value::Nil,
            1 => Value::Bool(self.next(2) == 0),
            2 => Value::Int(self.next(2000) as i64 - 1000),
            3 => Value::Int64(i64::MIN + self.next(3) as i64),
            4 | 5 => Value::Float(FLOATS[self.next(FLOATS.len())]),
            6..=8 => Value::from(self.string()),
            9 => match self.next(4) {
                0 => Value::nil_map(),
                1 => Value::nil_list(gotmpl::ElemType::Interface),
                2 => Value::nil_bytes(),
                _ => Value::Bytes(Rc::from(self.string().into_bytes())),
            },
            10 => {
                let n = self.next(5);
                Value::list((0..n).map(|_| self.value(depth + 1)).collect())
            }
            _ => {
                let n = self.next(6);
                let mut m = Map::new();
                for _ in 0..n {
                    let key = match self.next(10) {
                        0 => "k".repeat(120 + self.next(20)),
                        1 => "<".repeat(160 + self.next(60)),
                        2 => format!("a{}", self.next(200)),
                        3 => format!("{}", self.next(30)),
                        _ => self.string(),
                    };
                    m.insert(key, self.value(depth + 1));
                }
                Value::map(m)
            }
        }
    }
}

#[test]
fn to_yaml_direct_path_matches_the_tree() {
    // The direct emitter (or its fallback) must give what the node tree of the re-read JSON
    // gives, text and errors alike.
    let mut g = Gen(7);
    let mut direct = 0;
    for _ in 0..20000 {
        let v = g.value(0);
        let tree = to_yaml_tree(&v);
        assert_eq!(to_yaml(&v), tree, "{v:?}");
        if emit::Emitter::new(emit::Flavor::V2)
            .value_document(&v)
            .is_ok()
        {
            direct += 1;
        }
    }
    // Most values take the direct path (the test covers it, not only the fallback).
    assert!(direct > 10000, "{direct}");
}

#[test]
fn json_numbers_without_the_text() {
    fn key(n: emit::Node<'_>) -> (u8, u64) {
        match n {
            emit::Node::Int(i) => (0, i as u64),
            emit::Node::Uint(u) => (1, u),
            emit::Node::Float(f) => (2, f.to_bits()),
            _ => (3, 0),
        }
    }
    let mut g = Gen(11);
    let mut fs = vec![
        0.0,
        -0.0,
        8.99e15,
        9e15,
        2f64.powi(53),
        -2f64.powi(53),
        1e21,
        1e20,
    ];
    for _ in 0..20000 {
        let mag = 10f64.powi(g.next(40) as i32 - 10);
        let sign = if g.next(2) == 0 { 1.0 } else { -1.0 };
        let f = sign * mag * (g.next(1 << 30) as f64 / 1024.0);
        fs.push(f);
        fs.push(f.trunc());
    }
    for f in fs {
        assert_eq!(key(json_number(f)), key(json_number_text(f)), "{f}");
    }
}
