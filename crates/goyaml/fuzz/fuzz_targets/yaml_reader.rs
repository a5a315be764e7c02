//! Fuzzes the YAML reader and the writers fed by it: any input must either parse or fail with
//! an error (never panic), and whatever parses must survive `toYaml`/`toJson`, with `toYaml`
//! output reading back to the same JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = goyaml::parse_head(text);
    let _ = goyaml::yaml_stream_to_json_values(text);
    let _ = goyaml::load_values(text);
    if let Ok(v) = goyaml::from_yaml(text) {
        let json = goyaml::to_json(&v).expect("parsed values are JSON-encodable");
        // NEL (U+0085) is a line break to YAML: goyaml folds it on the way back, as Go does.
        if let Ok(y) = goyaml::to_yaml(&v).as_ref().map(String::as_str)
            && !json.contains('\u{85}')
        {
            let y = y.to_string();
            let back = goyaml::from_yaml(&y).expect("toYaml output reads back");
            assert_eq!(goyaml::to_json(&back).expect("json"), json, "round trip of {text:?} via {y:?}");
        }
        let _ = goyaml::to_yaml_pretty(&v);
        let _ = goyaml::to_toml(&v);
    }
    let _ = goyaml::from_json(text);
});
