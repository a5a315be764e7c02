//! Go number formatting needed outside templates (Chart.yaml scalars decoded into strings,
//! `%v` of import-values paths). The float64 form is `goyaml`'s; this adds the float32 one.

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (also `%v` of a float64).
pub use goyaml::format_float_g;

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits that identify the float32,
/// laid out as Go's `%g`.
pub fn format_float32_g(f: f64) -> String {
    let g = f as f32;
    if !g.is_finite() {
        return format_float_g(f64::from(g));
    }
    // The f32's shortest digits (at most 9 significant) read back as an f64 keep exactly those
    // digits as the f64's shortest form, so the float64 layout prints them.
    let shortest: f64 = format!("{g:e}").parse().unwrap_or(f64::from(g));
    format_float_g(shortest)
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

    #[test]
    fn g32_format() {
        assert_eq!(format_float32_g(1.1), "1.1");
        assert_eq!(format_float32_g(1e7), "1e+07");
        assert_eq!(format_float32_g(0.1), "0.1");
        assert_eq!(format_float32_g(16777217.0), "1.6777216e+07");
        assert_eq!(format_float32_g(-0.0), "-0");
    }
}
