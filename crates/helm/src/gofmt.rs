//! Go number formatting needed outside templates (Chart.yaml scalars decoded into strings,
//! `%v` of import-values paths).

/// Lays out shortest digits (`d.ddd`, exponent) as Go's `strconv.FormatFloat(f, 'g', -1, _)`.
fn layout_g(sci: &str) -> String {
    // `sci` is Rust's `{:e}`: "-1.2345e6", "5e-7", "0e0".
    let (neg, sci) = match sci.strip_prefix('-') {
        Some(s) => (true, s),
        None => (false, sci),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if neg { "-" } else { "" };
    if digits == "0" {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    let nd = digits.len() as i32;
    let dp = exp + 1; // digits before the decimal point
    let s = if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{sign}{s}")
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (also `%v` of a float64).
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    layout_g(&format!("{f:e}"))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
pub fn format_float32_g(f: f64) -> String {
    let g = f as f32;
    if g.is_nan() {
        return "NaN".into();
    }
    if g.is_infinite() {
        return if g > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    layout_g(&format!("{g:e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_format() {
        assert_eq!(format_float_g(3.0), "3");
        assert_eq!(format_float_g(1.5), "1.5");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(1234567.0), "1.234567e+06");
        assert_eq!(format_float_g(123456.0), "123456");
        assert_eq!(format_float_g(0.0001), "0.0001");
        assert_eq!(format_float_g(0.00001), "1e-05");
        assert_eq!(format_float_g(-2.5), "-2.5");
        assert_eq!(format_float32_g(1.1), "1.1");
        assert_eq!(format_float32_g(1.0), "1");
    }
}
