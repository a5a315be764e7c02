//! The registered names are exactly Sprig v3.3.0's 211 minus what Helm removes (`env`,
//! `expandenv`) and what other crates provide (the JSON functions), plus Helm's `required`
//! and `lookup`.

use std::collections::BTreeSet;

const SPRIG: &str = "hello abbrev abbrevboth trunc trim trimall trimAll trimSuffix trimPrefix upper lower \
title untitle substr repeat nospace initials swapcase snakecase camelcase kebabcase wrap wrapWith contains \
hasPrefix hasSuffix quote squote cat indent nindent replace plural \
toString toStrings split splitList splitn join sortAlpha atoi int int64 float64 toDecimal \
add1 add sub div mod mul biggest max min randInt \
add1f addf subf divf mulf maxf minf ceil floor round \
seq until untilStep \
randAlphaNum randAlpha randAscii randNumeric randBytes uuidv4 shuffle \
ago date date_in_zone date_modify dateInZone dateModify duration durationRound htmlDate htmlDateInZone \
must_date_modify mustDateModify mustToDate now toDate unixEpoch \
default empty coalesce all any compact mustCompact ternary fail \
fromJson toJson toPrettyJson toRawJson mustFromJson mustToJson mustToPrettyJson mustToRawJson \
typeOf typeIs typeIsLike kindOf kindIs deepEqual deepCopy mustDeepCopy \
base dir clean ext isAbs osBase osClean osDir osExt osIsAbs \
b64enc b64dec b32enc b32dec sha1sum sha256sum sha512sum adler32sum \
dict get set unset hasKey pluck keys pick omit merge mergeOverwrite mustMerge mustMergeOverwrite values dig \
tuple list append push mustAppend mustPush prepend mustPrepend first mustFirst rest mustRest last mustLast \
initial mustInitial reverse mustReverse uniq mustUniq without mustWithout has mustHas slice mustSlice concat \
chunk mustChunk \
bcrypt htpasswd genPrivateKey derivePassword buildCustomCert genCA genCAWithKey genSelfSignedCert \
genSelfSignedCertWithKey genSignedCert genSignedCertWithKey encryptAES decryptAES \
semver semverCompare \
regexMatch mustRegexMatch regexFind mustRegexFind regexFindAll mustRegexFindAll regexReplaceAll \
mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta \
urlParse urlJoin getHostByName env expandenv";

const EXCLUDED: &[&str] = &[
    "env",
    "expandenv",
    "fromJson",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "mustFromJson",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
];

#[test]
fn registered_names_are_sprig_minus_excluded_plus_helm() {
    let sprig: BTreeSet<&str> = SPRIG.split_whitespace().collect();
    assert_eq!(
        sprig.len(),
        211,
        "Sprig v3.3.0 has 211 names (209 callable in Helm + env, expandenv)"
    );
    let mut expected: BTreeSet<String> = sprig
        .iter()
        .filter(|n| !EXCLUDED.contains(n))
        .map(|s| s.to_string())
        .collect();
    expected.insert("required".into());
    expected.insert("lookup".into());
    let got: BTreeSet<String> = sprig::functions().keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(got.len(), 203);
}
