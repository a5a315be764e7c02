//! Differential test of the YAML reader behind `yamledit` against PyYAML (from `$FERRY_VENV`):
//! on the repository's own YAML files and a corpus of tricky documents, both must agree on
//! validity, and on the value of every string leaf reachable through mapping keys; setting each
//! such leaf must leave PyYAML's view of every other value unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use gitsource::yamledit::{KeyPath, ScalarEdit, get_value, set_values, validate};

const PY: &str = r#"
import sys, json, yaml
def walk(node, path, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str):
                walk(v, path + [k], out)
    elif isinstance(node, str):
        out.append([path, node])
def norm(x):
    if isinstance(x, dict):
        return {str(k): norm(v) for k, v in x.items()}
    if isinstance(x, list):
        return [norm(v) for v in x]
    return x
res = []
for f in sys.argv[1:]:
    try:
        with open(f, encoding="utf-8") as fh:
            docs = list(yaml.safe_load_all(fh))
    except Exception as e:
        res.append({"file": f, "error": str(e).splitlines()[0]})
        continue
    out = []
    walk(docs[0] if docs else None, [], out)
    res.append({"file": f, "leaves": out, "doc": json.dumps(norm(docs[0] if docs else None), sort_keys=True, default=str)})
print(json.dumps(res))
"#;

fn python() -> PathBuf {
    let venv = std::env::var("FERRY_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ferry/venv",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let p = Path::new(&venv).join("bin/python");
    assert!(
        p.exists(),
        "{} not found: run scripts/test.sh (or set FERRY_VENV to a venv with pyyaml)",
        p.display()
    );
    p
}

/// Runs the PyYAML side over `files`.
fn pyyaml(files: &[PathBuf]) -> Vec<serde_like::Entry> {
    let out = Command::new(python())
        .arg("-c")
        .arg(PY)
        .args(files)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_like::parse(&String::from_utf8_lossy(&out.stdout))
}

const CORPUS: &[&str] = &[
    "a: 1\nb: two\nc: 'three'\nd: \"fo\\tur\"\n",
    "top:\n  # comment\n  nested:\n      deep: value # trailing\n  other: x\n",
    "\"quoted key\": v\n'single key': w\nkey with spaces: z\n",
    "a: |\n  literal\n   more\nb: >\n  folded\n  text\n\n  para\nc: |-\n  strip\nd: |+\n  keep\n\ne: end\n",
    "a: multi\n  line\n  plain\nb: \"dq\n  folded\"\nc: 'sq\n\n  two'\n",
    "m: {a: x, b: 'y', \"c\": \"z\", d: [1, 2]}\ns:\n- one\n- two: 2\n",
    "a: http://example.com:8080/path?q=1#frag\nb: a:b\nc: -x\nd: ?y\n",
    "anchor: &a value\ntagged: !!str 123\n",
    "---\nfirst: doc\n...\n---\nsecond: doc\n",
    "%YAML 1.1\n---\nv: x\n",
    "a: \"\\u00e9\\x41\\\\ \\\"q\\\"\"\nb: 'it''s'\n",
    "a: 1\n b: 2\n",
    "a: [1, 2\n",
    "a: 'unterminated\n",
    "a:\n  - 1\n  b: 2\n",
    "a: b: c\n",
    "a:\n\tb: 1\n",
    "list:\n  - name: x\n    image:\n      tag: v1\n  - name: y\n",
    "x: 1\r\ny: two\r\n",
    "empty:\nnull1: ~\nnull2: null\ntilde_str: '~'\n",
    "a: >-\n   indented\n   folded\n",
    "k: v # c\n# c\n\n\n",
    "\u{feff}bom: x\n",
    "a:\n  b:\n    c: deep\n  d: e\nf: g\n",
    "key: value with # not a comment\nk2: value #comment\n",
    "a: 'x' # c\nb: \"y\" # c\n",
    "a:    \n  b: 1\n",
    "a:\n- x\n- y\nb:\n  - c: 1\n    d: 2\n",
    "a: 'multi ''quote'''\n",
    "a: \"line1\\\n    line2\"\n",
    "a: x\n\n\n# trailing comments\n",
    "- a\n- b\n",
    "a: [b, {c: d}]\n",
    "a: {b: {c: {d: e}}}\n",
    "a:\n  b: |2\n     indented more\n  c: x\n",
    "k: v\n...\n",
    "a: \"\\q\"\n",
    "a: b\n  c\n",
    "a:\n  - b\n  -\n  - c\n",
    "a: 'b'c\n",
    "a: b #c\n  d\n",
    "a:\n  # only comment\nb: 1\n",
    "a: >\n\n  text\n",
    "a: |\n  x\n  \n  y\n",
    "ключ: значение\n",
    "a: 1 # c\n---\nb: 2\n",
    "a: |\r\n  x\r\n  y\r\nb: z\r\n",
    "a: \"multi\n\n\n  line\"\n",
    "a: -1\nb: - 1\n",
    "a: [1, 2]]\n",
    "a: {x: 1}}\n",
    "a: ]\n",
    "a: \"x\"\"\n",
    "a:\n  b: 1\n c: 2\n",
    "  a: 1\n  b: 2\n",
    "a: 1\n  # indented comment\nb: 2\n",
    "a: >+\n  keep\n\n\nb: 1\n",
    "a: |1\n  lead\n",
    "a: x:y\nb: x :y\n",
    "a: {x}\n",
    "url: 'http://x'\n# comment: not a key\n",
];

#[test]
fn agrees_with_pyyaml() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, doc) in CORPUS.iter().enumerate() {
        let p = tmp.path().join(format!("corpus{i:02}.yaml"));
        std::fs::write(&p, doc).unwrap();
        files.push(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    collect(&root, &mut files);
    assert!(files.len() > CORPUS.len() + 10, "examples not found");

    let results = pyyaml(&files);
    assert_eq!(results.len(), files.len());
    let mut leaves_checked = 0;
    let mut edits_checked = 0;
    let mut edited_files = Vec::new();
    let mut expected_docs = Vec::new();
    for r in &results {
        let src = std::fs::read_to_string(&r.file).unwrap();
        let ours = validate(&src);
        match &r.error {
            Some(e) => {
                assert!(ours.is_err(), "{}: PyYAML rejects ({e}), we accept", r.file);
                continue;
            }
            None => assert!(
                ours.is_ok(),
                "{}: PyYAML accepts, we say {:?}",
                r.file,
                ours
            ),
        }
        for (path, value) in &r.leaves {
            let kp = KeyPath::from_segments(path.clone());
            let got = get_value(&src, &kp).unwrap();
            assert_eq!(got.as_deref(), Some(value.as_str()), "{} {kp}", r.file);
            leaves_checked += 1;
            // Set it to a new value; PyYAML must then see exactly that change.
            let new = format!("{value}-x");
            let out = set_values(
                &src,
                &[ScalarEdit {
                    path: kp.clone(),
                    value: new.clone(),
                }],
            )
            .unwrap_or_else(|e| panic!("{} {kp}: {e}", r.file));
            let f = tmp.path().join(format!("edit{edits_checked:04}.yaml"));
            std::fs::write(&f, &out.text).unwrap();
            edited_files.push(f);
            expected_docs.push((r.doc.clone(), path.clone(), new));
            edits_checked += 1;
        }
    }
    assert!(leaves_checked > 50, "only {leaves_checked} leaves");
    // Check the edited files in one PyYAML run: the document equals the original with only
    // the edited leaf replaced.
    let edited = pyyaml(&edited_files);
    let expect_py = "import sys, json\nchecks = json.loads(sys.stdin.read())\nbad = []\nfor doc, path, new, got in checks:\n    d = json.loads(doc)\n    t = d\n    for k in path[:-1]:\n        t = t[k]\n    t[path[-1]] = new\n    if json.dumps(d, sort_keys=True, default=str) != got:\n        bad.append([path, new])\nprint(json.dumps(bad))\n";
    let mut checks = String::from("[");
    for (i, ((doc, path, new), e)) in expected_docs.iter().zip(&edited).enumerate() {
        assert!(
            e.error.is_none(),
            "edited file {} does not parse: {:?}",
            e.file,
            e.error
        );
        if i > 0 {
            checks.push(',');
        }
        let path_json = format!(
            "[{}]",
            path.iter()
                .map(|s| json_str(s))
                .collect::<Vec<_>>()
                .join(",")
        );
        checks.push_str(&format!(
            "[{},{},{},{}]",
            json_str(doc),
            path_json,
            json_str(new),
            json_str(&e.doc)
        ));
    }
    checks.push(']');
    let mut child = Command::new(python())
        .arg("-c")
        .arg(expect_py)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(checks.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "templates") {
                collect(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A minimal reader for the JSON the Python side prints (no serde dependency for one test).
mod serde_like {
    pub struct Entry {
        pub file: String,
        pub error: Option<String>,
        pub leaves: Vec<(Vec<String>, String)>,
        pub doc: String,
    }

    #[derive(Debug, Clone)]
    enum J {
        S(String),
        A(Vec<J>),
        O(Vec<(String, J)>),
        Other,
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn val(&mut self) -> J {
            self.ws();
            match self.s[self.i] {
                b'"' => J::S(self.string()),
                b'[' => {
                    self.i += 1;
                    let mut v = Vec::new();
                    loop {
                        self.ws();
                        if self.s[self.i] == b']' {
                            self.i += 1;
                            return J::A(v);
                        }
                        v.push(self.val());
                        self.ws();
                        if self.s[self.i] == b',' {
                            self.i += 1;
                        }
                    }
                }
                b'{' => {
                    self.i += 1;
                    let mut v = Vec::new();
                    loop {
                        self.ws();
                        if self.s[self.i] == b'}' {
                            self.i += 1;
                            return J::O(v);
                        }
                        let k = self.string();
                        self.ws();
                        self.i += 1; // ':'
                        let x = self.val();
                        v.push((k, x));
                        self.ws();
                        if self.s[self.i] == b',' {
                            self.i += 1;
                        }
                    }
                }
                _ => {
                    while self.i < self.s.len() && !b",]}".contains(&self.s[self.i]) {
                        self.i += 1;
                    }
                    J::Other
                }
            }
        }
        fn string(&mut self) -> String {
            self.i += 1;
            let mut out = String::new();
            loop {
                let c = self.s[self.i];
                self.i += 1;
                match c {
                    b'"' => return out,
                    b'\\' => {
                        let e = self.s[self.i];
                        self.i += 1;
                        match e {
                            b'n' => out.push('\n'),
                            b't' => out.push('\t'),
                            b'r' => out.push('\r'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'u' => {
                                let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                let mut cp = u32::from_str_radix(h, 16).unwrap();
                                self.i += 4;
                                if (0xd800..0xdc00).contains(&cp) {
                                    let h2 = std::str::from_utf8(&self.s[self.i + 2..self.i + 6])
                                        .unwrap();
                                    let lo = u32::from_str_radix(h2, 16).unwrap();
                                    self.i += 6;
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                }
                                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                            }
                            other => out.push(other as char),
                        }
                    }
                    _ => {
                        // Re-decode UTF-8 sequences byte by byte.
                        let start = self.i - 1;
                        let len = match c {
                            0..=0x7f => 1,
                            0xc0..=0xdf => 2,
                            0xe0..=0xef => 3,
                            _ => 4,
                        };
                        self.i = start + len;
                        out.push_str(std::str::from_utf8(&self.s[start..start + len]).unwrap());
                    }
                }
            }
        }
    }

    pub fn parse(s: &str) -> Vec<Entry> {
        let mut p = P {
            s: s.as_bytes(),
            i: 0,
        };
        let J::A(items) = p.val() else {
            panic!("expected a JSON array")
        };
        items
            .into_iter()
            .map(|it| {
                let J::O(fields) = it else {
                    panic!("expected an object")
                };
                let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let s = |j: Option<J>| match j {
                    Some(J::S(s)) => Some(s),
                    _ => None,
                };
                let leaves = match get("leaves") {
                    Some(J::A(ls)) => ls
                        .into_iter()
                        .map(|l| {
                            let J::A(pair) = l else { panic!("leaf") };
                            let J::A(path) = &pair[0] else { panic!("path") };
                            let path = path
                                .iter()
                                .map(|p| match p {
                                    J::S(s) => s.clone(),
                                    _ => panic!("segment"),
                                })
                                .collect();
                            let J::S(v) = &pair[1] else { panic!("value") };
                            (path, v.clone())
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                Entry {
                    file: s(get("file")).unwrap_or_default(),
                    error: s(get("error")),
                    leaves,
                    doc: s(get("doc")).unwrap_or_default(),
                }
            })
            .collect()
    }
}
