use super::*;

fn set(src: &str, path: &str, value: &str) -> Result<String, YamlEditError> {
    set_values(
        src,
        &[ScalarEdit {
            path: KeyPath::parse(path).unwrap(),
            value: value.into(),
        }],
    )
    .map(|o| o.text)
}

fn get(src: &str, path: &str) -> Option<String> {
    get_value(src, &KeyPath::parse(path).unwrap()).unwrap()
}

/// Asserts that `after` equals `before` with exactly `old` replaced by `new` once.
fn only_changed(before: &str, after: &str, old: &str, new: &str) {
    let i = before.find(old).expect("old text present");
    let expected = format!("{}{}{}", &before[..i], new, &before[i + old.len()..]);
    assert_eq!(after, expected);
}

#[test]
fn key_paths() {
    assert_eq!(KeyPath::parse(".a.b").unwrap().segments(), ["a", "b"]);
    assert_eq!(KeyPath::parse("a.b").unwrap().segments(), ["a", "b"]);
    assert_eq!(
        KeyPath::parse(r#".a."b.c"."d\"e""#).unwrap().segments(),
        ["a", "b.c", "d\"e"]
    );
    for bad in ["", ".", "a..b", "a.", ".\"a", "a[0]", "\"a\"b"] {
        assert!(KeyPath::parse(bad).is_err(), "{bad:?}");
    }
    let p = KeyPath::from_segments(["a", "b.c"]);
    assert_eq!(p.to_string(), ".a.\"b.c\"");
    assert_eq!(KeyPath::parse(&p.to_string()).unwrap(), p);
}

const LATEST: &str = "\u{feff}# Written by CI\n%YAML 1.2\n---\nlatest:   # the apps\n\n   web:\n         server:\n             tag: \"1.4.2\"   # pinned by CI\n             note: 'it''s fine'\n   \"api\":\n      server: {tag: 2.0.1, replicas: 3}\n   'worker': # odd\n    server:\n     tag: '0.9.0'\n     plain: some words\n       continued here\n     lit: |\n       keep\n         me\n     fold: >-\n       a\n       b\n   other:\n     - name: x\n       tag: v1\n     - [1, 2]\n...\n";

#[test]
fn reads_all_styles() {
    assert_eq!(
        get(LATEST, ".latest.web.server.tag").as_deref(),
        Some("1.4.2")
    );
    assert_eq!(
        get(LATEST, ".latest.web.server.note").as_deref(),
        Some("it's fine")
    );
    assert_eq!(
        get(LATEST, ".latest.api.server.tag").as_deref(),
        Some("2.0.1")
    );
    assert_eq!(
        get(LATEST, ".latest.api.server.replicas").as_deref(),
        Some("3")
    );
    assert_eq!(
        get(LATEST, ".latest.worker.server.tag").as_deref(),
        Some("0.9.0")
    );
    assert_eq!(
        get(LATEST, ".latest.worker.server.plain").as_deref(),
        Some("some words continued here")
    );
    assert_eq!(
        get(LATEST, ".latest.worker.server.lit").as_deref(),
        Some("keep\n  me\n")
    );
    assert_eq!(
        get(LATEST, ".latest.worker.server.fold").as_deref(),
        Some("a b")
    );
    assert_eq!(get(LATEST, ".latest.nope"), None);
}

#[test]
fn replaces_only_the_scalar_bytes() {
    let out = set(LATEST, ".latest.web.server.tag", "1.5.0").unwrap();
    only_changed(LATEST, &out, "\"1.4.2\"", "\"1.5.0\"");
    let out = set(LATEST, ".latest.api.server.tag", "2.1.0").unwrap();
    only_changed(LATEST, &out, "tag: 2.0.1", "tag: 2.1.0");
    let out = set(LATEST, ".latest.worker.server.tag", "1.0.0").unwrap();
    only_changed(LATEST, &out, "'0.9.0'", "'1.0.0'");
    let out = set(LATEST, ".latest.web.server.note", "o'k").unwrap();
    only_changed(LATEST, &out, "'it''s fine'", "'o''k'");
    let out = set(LATEST, ".latest.worker.server.plain", "short").unwrap();
    only_changed(LATEST, &out, "some words\n       continued here", "short");
    let out = set(LATEST, ".latest.worker.server.lit", "v3").unwrap();
    only_changed(LATEST, &out, "|\n       keep\n         me", "v3");
}

#[test]
fn plain_scalars_keep_their_type() {
    let src = "a:\n  tag: v1.9 # c\n  n: 3\n";
    assert_eq!(
        set(src, "a.tag", "1.10").unwrap(),
        "a:\n  tag: \"1.10\" # c\n  n: 3\n"
    );
    assert_eq!(
        set(src, "a.tag", "1.10.0").unwrap(),
        "a:\n  tag: 1.10.0 # c\n  n: 3\n"
    );
    assert_eq!(
        set(src, "a.n", "4").unwrap(),
        "a:\n  tag: v1.9 # c\n  n: 4\n"
    );
    assert_eq!(
        set(src, "a.n", "four").unwrap(),
        "a:\n  tag: v1.9 # c\n  n: \"four\"\n"
    );
    assert_eq!(
        set(src, "a.tag", "on").unwrap(),
        "a:\n  tag: \"on\" # c\n  n: 3\n"
    );
    assert_eq!(
        set(src, "a.tag", "x: y").unwrap(),
        "a:\n  tag: \"x: y\" # c\n  n: 3\n"
    );
    assert_eq!(
        set(src, "a.tag", "").unwrap(),
        "a:\n  tag: \"\" # c\n  n: 3\n"
    );
}

#[test]
fn null_values_get_filled() {
    assert_eq!(
        set("a:\n  tag:\n", "a.tag", "v1").unwrap(),
        "a:\n  tag: v1\n"
    );
    assert_eq!(
        set("a:\n  tag: # c\n", "a.tag", "v1").unwrap(),
        "a:\n  tag: v1 # c\n"
    );
    assert_eq!(
        set("a:\n  tag: ~\n", "a.tag", "1.0").unwrap(),
        "a:\n  tag: \"1.0\"\n"
    );
    assert_eq!(
        set("a: {tag: }\n", "a.tag", "v1").unwrap(),
        "a: {tag: v1}\n"
    );
    assert_eq!(set("a: {tag}\n", "a.tag", "v1").unwrap(), "a: {tag: v1}\n");
}

#[test]
fn creates_missing_keys_at_the_right_indentation() {
    let src = "# top\nlatest:\n    web:\n        server:\n            tag: v1 # x\n    api: {}\n# tail comment\n";
    assert_eq!(
        set(src, ".latest.web.server.digest", "sha256:abc").unwrap(),
        "# top\nlatest:\n    web:\n        server:\n            tag: v1 # x\n            digest: sha256:abc\n    api: {}\n# tail comment\n"
    );
    assert_eq!(
        set(src, ".latest.jobs.cron.tag", "1.0").unwrap(),
        "# top\nlatest:\n    web:\n        server:\n            tag: v1 # x\n    api: {}\n    jobs:\n        cron:\n            tag: \"1.0\"\n# tail comment\n"
    );
    assert_eq!(
        set(src, ".latest.api.server.tag", "v2").unwrap(),
        "# top\nlatest:\n    web:\n        server:\n            tag: v1 # x\n    api: {server: {tag: v2}}\n# tail comment\n"
    );
    assert_eq!(
        set("a: {x: 1}\n", ".a.z", "b,c").unwrap(),
        "a: {x: 1, z: \"b,c\"}\n"
    );
    assert_eq!(
        set("latest:\n", ".latest.web.server.tag", "v1").unwrap(),
        "latest:\n  web:\n    server:\n      tag: v1\n"
    );
    assert_eq!(
        set("latest: ~ \nz: 1\n", ".latest.web", "v1").unwrap(),
        "latest:\n  web: v1 \nz: 1\n"
    );
    assert_eq!(
        set("", ".latest.web", "v1").unwrap(),
        "latest:\n  web: v1\n"
    );
    assert_eq!(
        set("# only a comment", ".a", "v1").unwrap(),
        "# only a comment\na: v1\n"
    );
    assert_eq!(
        set("---\n# c\n---\nb: 1\n", ".a", "v1").unwrap(),
        "---\n# c\na: v1\n---\nb: 1\n"
    );
    // Compact mappings in sequences and CRLF line endings.
    assert_eq!(
        set("a:\r\n  b: 1\r\n", ".a.c", "x").unwrap(),
        "a:\r\n  b: 1\r\n  c: x\r\n"
    );
    // Keys needing quotes.
    assert_eq!(
        set("a: 1\n", ".\"x: y\"", "v").unwrap(),
        "a: 1\n\"x: y\": v\n"
    );
}

#[test]
fn multiple_edits_apply_in_order() {
    let src = "latest:\n  web:\n    server:\n      tag: \"1\"\n";
    let out = set_values(
        src,
        &[
            ScalarEdit {
                path: KeyPath::parse("latest.web.server.tag").unwrap(),
                value: "2".into(),
            },
            ScalarEdit {
                path: KeyPath::parse("latest.api.server.tag").unwrap(),
                value: "3".into(),
            },
            ScalarEdit {
                path: KeyPath::parse("latest.web.server.tag").unwrap(),
                value: "2".into(),
            },
        ],
    )
    .unwrap();
    assert_eq!(
        out.text,
        "latest:\n  web:\n    server:\n      tag: \"2\"\n  api:\n    server:\n      tag: \"3\"\n"
    );
    assert_eq!(out.changes[0].old.as_deref(), Some("1"));
    assert_eq!(out.changes[1].old, None);
    assert!(out.changes[2].is_noop());
}

#[test]
fn unchanged_value_changes_nothing() {
    let src = "a: 'v1'   # keep\n";
    assert_eq!(set(src, "a", "v1").unwrap(), src);
}

#[test]
fn path_errors_are_clear() {
    let src = "a:\n  b: text\n  l:\n    - 1\n  m: {x: 1}\n";
    let e = set(src, ".a.b.c", "1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot set .a.b.c: .a.b is a scalar, not a mapping"
    );
    let e = set(src, ".a.l.c", "1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot set .a.l.c: .a.l is a sequence, not a mapping"
    );
    let e = set(src, ".a.m", "1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot set .a.m: it holds a mapping, not a scalar"
    );
    let e = set("- 1\n", ".a", "1").unwrap_err();
    assert!(matches!(e, YamlEditError::NotAMapping { .. }), "{e}");
}

#[test]
fn invalid_yaml_is_rejected_with_a_position() {
    for (src, line, msg) in [
        ("a: 1\n b: 2\n", 2, "mapping values are not allowed"),
        ("a:\n    b: 1\n  c: 2\n", 3, "bad indentation"),
        ("a: \"unterminated\n", 1, "unterminated"),
        ("a: 'x\n", 1, "unterminated"),
        ("a:\n\tb: 1\n", 2, "tab"),
        ("a: b: c\n", 1, "mapping values are not allowed"),
        ("a: [1, 2\n", 1, "unterminated flow"),
        ("a: {x: 1\nb: 2\n", 2, "expected ','"),
        ("a: 1\na: 2\n", 2, "defined twice"),
        ("a:\n  - 1\n  b: 2\n", 3, "bad indentation"),
        ("a: 1\n- b\n", 2, "unexpected content"),
        ("a: - 1\n", 1, "block sequence entries"),
        ("a: \"x\" y\n", 1, "unexpected content after"),
        ("a: \"\\q\"\n", 1, "invalid escape"),
        ("a: @x\n", 1, "cannot start"),
        ("? a\n: b\n", 1, "explicit"),
        ("a: 1\n  # c\n    b\n", 3, "bad indentation"),
        ("a: x\n  b: y\n", 2, "mapping values are not allowed"),
        ("x: &a\n", 0, ""),
    ] {
        let r = validate(src);
        if line == 0 {
            assert!(r.is_ok(), "{src:?}: {r:?}");
            continue;
        }
        match r {
            Err(YamlEditError::Syntax {
                line: l, message, ..
            }) => {
                assert_eq!(l, line, "{src:?}: {message}");
                assert!(message.contains(msg), "{src:?}: {message}");
            }
            other => panic!("{src:?}: expected a syntax error, got {other:?}"),
        }
        // And an edit on invalid input fails without producing text.
        assert!(set(src, ".zzz", "1").is_err());
    }
}

#[test]
fn accepts_common_valid_documents() {
    for src in [
        "",
        "# c\n",
        "a: 1",
        "a: 1\r\nb: 2\r\n",
        "a:\n- 1\n- 2\nb: 3\n",
        "a:\n  - b: 1\n    c: 2\n  - - x\n    - y\n  -\n    z: 1\n",
        "a: !!str 1\nb: &x v\nc: *x\nd: !custom\n  e: 1\n",
        "a: |+\n  x\n\nb: >2\n   y\n",
        "a: \"multi\n  line\"\nb: 'multi\n\n  line'\n",
        "a: [1, {b: c}, \"d\", 'e', [f]]\nb: {c: [1, 2], 'd': \"e\", f: , g}\n",
        "a: {x: 1,\n  y: 2}\n",
        "---\na: 1\n...\n---\nb: 2\n",
        "--- |\n  text\n",
        "\"quoted key\": 1\n'single': 2\nkey with spaces: 3\n",
        "url: http://example.com:8080/x#frag\n",
        "a: b # comment: with colon\n",
        "a:    # c\n  # c2\n  b: 1\n",
        "a:\n\n  b: 1\n\n\nc: 2\n",
        "- a\n- b: c\n",
        "a: \"esc \\\" \\\\ \\n \\x41 \\u00e9 \\U0001F600\"\n",
    ] {
        assert!(validate(src).is_ok(), "{src:?}: {:?}", validate(src));
    }
    assert_eq!(
        get("a: \"\\x41\\u00e9 \\\n   b\"\n", "a").as_deref(),
        Some("Aé b")
    );
    assert_eq!(get("a: \"x\n\n  y\"\n", "a").as_deref(), Some("x\ny"));
    assert_eq!(get("a: |+\n  x\n\nb: 1\n", "a").as_deref(), Some("x\n\n"));
    assert_eq!(get("a: |-\n  x\n", "a").as_deref(), Some("x"));
    assert_eq!(
        get("a: >\n  x\n  y\n\n  z\n", "a").as_deref(),
        Some("x y\nz\n")
    );
    assert_eq!(
        get("\"k.x\": {\"q\": 'v'}\n", ".\"k.x\".q").as_deref(),
        Some("v")
    );
}

#[test]
fn edits_inside_flow_and_sequences_context() {
    let src = "a: {tag: \"v1\", b: [1, 2]}\n";
    assert_eq!(
        set(src, "a.tag", "v2").unwrap(),
        "a: {tag: \"v2\", b: [1, 2]}\n"
    );
    let src = "a: {tag: v1, b: 2}\n";
    assert_eq!(
        set(src, "a.tag", "x,y").unwrap(),
        "a: {tag: \"x,y\", b: 2}\n"
    );
    let src = "a: &anchor v1 # c\n";
    assert_eq!(set(src, "a", "v2").unwrap(), "a: &anchor v2 # c\n");
    let src = "a: !!str v1\n";
    assert_eq!(set(src, "a", "v2").unwrap(), "a: !!str v2\n");
}

#[test]
fn values_that_need_escapes() {
    let src = "a: v1\n";
    assert_eq!(
        set(src, "a", "line1\nline2").unwrap(),
        "a: \"line1\\nline2\"\n"
    );
    assert_eq!(set(src, "a", "say \"hi\"").unwrap(), "a: say \"hi\"\n");
    assert_eq!(set(src, "a", "\"hi\" \\").unwrap(), "a: '\"hi\" \\'\n");
    assert_eq!(set(src, "a", "- x").unwrap(), "a: \"- x\"\n");
    assert_eq!(set(src, "a", "#x").unwrap(), "a: \"#x\"\n");
    assert_eq!(set(src, "a", "ünï").unwrap(), "a: ünï\n");
}

/// Random mutations of valid documents never make the reader or the editor panic, and every
/// successful edit reads back.
#[test]
fn mutated_documents_never_panic() {
    let seeds = [
        LATEST,
        "a:\n  b: 'x'\n  c: \"y\"\n  d: [1, {e: f}]\n  g: |\n    lit\n",
        "- a: 1\n  b: 2\n- - x\n  - y\n",
        "k: v # c\r\nl: \"é\\u00e9\"\r\n",
    ];
    let alphabet: &[&str] = &[
        " ", ":", "-", "#", "'", "\"", "\n", "\t", "[", "]", "{", "}", "|", ">", "&", "*", "!",
        "é", "\\", ",", "?", "%", "---", "...", "\r\n", "a", "1",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let path = KeyPath::parse(".latest.web.server.tag").unwrap();
    let mut edited = 0;
    for seed in seeds {
        for _ in 0..400 {
            let mut doc: String = seed.to_string();
            for _ in 0..(1 + next() % 3) {
                let boundaries: Vec<usize> = (0..=doc.len())
                    .filter(|&i| doc.is_char_boundary(i))
                    .collect();
                let at = boundaries[(next() % boundaries.len() as u64) as usize];
                match next() % 3 {
                    0 => doc.insert_str(at, alphabet[(next() % alphabet.len() as u64) as usize]),
                    1 => {
                        if let Some(c) = doc[at..].chars().next() {
                            doc.replace_range(at..at + c.len_utf8(), "");
                        }
                    }
                    _ => {
                        if let Some(c) = doc[at..].chars().next() {
                            let with = alphabet[(next() % alphabet.len() as u64) as usize];
                            doc.replace_range(at..at + c.len_utf8(), with);
                        }
                    }
                }
            }
            let r = std::panic::catch_unwind(|| {
                let _ = validate(&doc);
                let _ = get_value(&doc, &path);
                set_values(
                    &doc,
                    &[ScalarEdit {
                        path: path.clone(),
                        value: "1.10".into(),
                    }],
                )
            });
            match r {
                Err(_) => panic!("panicked on {doc:?}"),
                Ok(Ok(out)) => {
                    assert_eq!(
                        get_value(&out.text, &path).unwrap().as_deref(),
                        Some("1.10"),
                        "{doc:?}"
                    );
                    edited += 1;
                }
                Ok(Err(_)) => {}
            }
        }
    }
    assert!(
        edited > 100,
        "only {edited} mutated documents could be edited"
    );
}
