//! Go printing as Sprig observes it, on top of `gotmpl`'s `fmt`/`strconv` ports.

use gotmpl::Value;

pub use gotmpl::fmt::quote;

/// Go's `fmt.Sprint(v)` / `%v` of one value.
pub fn sprint(v: &Value) -> String {
    gotmpl::fmt::format_value(v)
}

/// Sprig's `strval`: strings and byte slices as is, everything else through `%v`
/// (which calls `String()` on Stringers such as `time.Time` and `*semver.Version`).
pub fn strval(v: &Value) -> String {
    match v {
        // `String::from`, not `to_string`: `Rc<str>`'s `ToString` goes through `fmt`.
        Value::String(s) => String::from(&**s),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => sprint(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printing() {
        assert_eq!(sprint(&Value::Float(1e6)), "1e+06");
        assert_eq!(
            strval(&Value::list(vec![
                Value::Int(1),
                Value::str("a"),
                Value::Nil
            ])),
            "[1 a <nil>]"
        );
        assert_eq!(quote("a\"b\t\u{200b}"), "\"a\\\"b\\t\\u200b\"");
    }
}
