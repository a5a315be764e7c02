//! Go's `fmt` printing of template values: `%v` (what `{{ x }}` and `print` show), `Sprint`,
//! `Sprintln` and `Sprintf` with Go's verbs, flags and error forms (`%!d(string=x)`,
//! `%!s(MISSING)`, `%!(EXTRA …)`).

use std::borrow::Borrow;

use crate::value::{ElemType, Value};

pub use crate::strconv::{format_float, quote, quote_ascii};

/// `fmt.Sprint(v)`: Go's `%v` of one value.
pub fn format_value(v: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

/// Appends Go's `%v` of `v` to `out` (nil prints as `<nil>`).
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Int(i) | Value::Int64(i) => write_int(out, *i),
        Value::Float(f) => write_float(out, *f),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Nil => out.push_str("<nil>"),
        _ => {
            let mut p = Printer {
                buf: std::mem::take(out),
                f: Flags::default(),
            };
            p.print_arg(v, 'v');
            *out = p.buf;
        }
    }
}

/// Decimal digits of an integer, without going through `core::fmt`.
fn write_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut p = buf.len();
    loop {
        p -= 1;
        buf[p] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // The buffer holds ASCII digits only.
    out.push_str(std::str::from_utf8(&buf[p..]).unwrap_or("0"));
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
fn write_float(out: &mut String, f: f64) {
    use std::fmt::Write;
    let a = f.abs();
    // In this range Go prints plain decimal digits, and Rust's shortest round-trip
    // `Display` prints the same digits.
    if a < 1e6 && f.fract() == 0.0 && !(f == 0.0 && f.is_sign_negative()) {
        write_int(out, f as i64);
    } else if (1e-4..1e6).contains(&a) {
        // Few decimals (3.5, 0.25): the first scale at which the scaled value is an integer
        // that reads back as `f` gives Go's shortest digits, without `core::fmt`.
        let mut p = 1.0;
        for k in 1..=6 {
            p *= 10.0;
            let n = (a * p).round();
            if n / p == a {
                let n = n as u64;
                let scale = 10u64.pow(k);
                if f < 0.0 {
                    out.push('-');
                }
                write_int(out, (n / scale) as i64);
                out.push('.');
                let frac = n % scale;
                let mut digits = [b'0'; 6];
                let mut m = frac;
                for d in digits[..k as usize].iter_mut().rev() {
                    *d = b'0' + (m % 10) as u8;
                    m /= 10;
                }
                out.push_str(std::str::from_utf8(&digits[..k as usize]).unwrap_or(""));
                return;
            }
        }
        let _ = write!(out, "{f}");
    } else {
        out.push_str(&format_float(f, 'g', -1));
    }
}

/// `fmt.Sprint(args...)`: a space between two operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    sprint_any(args)
}

pub(crate) fn sprint_any<A: Borrow<Value>>(args: &[A]) -> String {
    let mut out = String::with_capacity(16);
    sprint_into(&mut out, args);
    out
}

/// `fmt.Sprint` appended to `out`.
pub(crate) fn sprint_into<A: Borrow<Value>>(out: &mut String, args: &[A]) {
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let a = a.borrow();
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(out, a);
        prev_string = is_string;
    }
}

/// `fmt.Sprintln(args...)`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    sprintln_any(args)
}

pub(crate) fn sprintln_any<A: Borrow<Value>>(args: &[A]) -> String {
    let mut out = String::with_capacity(16);
    sprintln_into(&mut out, args);
    out
}

/// `fmt.Sprintln` appended to `out`.
pub(crate) fn sprintln_into<A: Borrow<Value>>(out: &mut String, args: &[A]) {
    for (i, a) in args.iter().enumerate() {
        let a = a.borrow();
        if i > 0 {
            out.push(' ');
        }
        write_value(out, a);
    }
    out.push('\n');
}

/// `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    sprintf_any(format, args)
}

pub(crate) fn sprintf_any<A: Borrow<Value>>(format: &str, args: &[A]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    sprintf_into(&mut out, format, args);
    out
}

/// `fmt.Sprintf` appended to `out`.
pub(crate) fn sprintf_into<A: Borrow<Value>>(out: &mut String, format: &str, args: &[A]) {
    let mut p = Printer {
        buf: std::mem::take(out),
        f: Flags::default(),
    };
    p.do_printf(format, args);
    *out = p.buf;
}

/// `%#U` of a rune: `U+0041 'A'`.
pub(crate) fn sharp_u(c: char) -> String {
    let u = c as u32;
    let mut s = format!("U+{u:04X}");
    if crate::strconv::is_print(c) {
        s.push_str(" '");
        s.push(c);
        s.push('\'');
    }
    s
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: usize,
    wid_present: bool,
    prec: usize,
    prec_present: bool,
}

struct Printer {
    buf: String,
    f: Flags,
}

fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

fn parsenum(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: i64 = 0;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + (s[i] - b'0') as i64;
        isnum = true;
        i += 1;
    }
    (num as usize, isnum, i)
}

impl Printer {
    // ---- padding ----

    fn write_padding(&mut self, n: usize) {
        let pad = if self.f.zero { '0' } else { ' ' };
        self.buf.reserve(n);
        self.buf.extend(std::iter::repeat_n(pad, n));
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let width = s.chars().count();
        let n = self.f.wid.saturating_sub(width);
        if !self.f.minus {
            self.write_padding(n);
            self.buf.push_str(s);
        } else {
            self.buf.push_str(s);
            let z = self.f.zero;
            self.f.zero = false;
            self.write_padding(n);
            self.f.zero = z;
        }
    }

    // ---- basic types ----

    fn fmt_bool(&mut self, b: bool, verb: char, v: &Value) {
        match verb {
            't' | 'v' => self.pad(if b { "true" } else { "false" }),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_integer(&mut self, u: u64, base: u32, is_signed: bool, verb: char, upper: bool) {
        let negative = is_signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let z = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = z;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut buf: Vec<u8> = Vec::with_capacity(24 + prec);
        if u == 0 {
            buf.push(b'0');
        }
        while u > 0 {
            buf.push(digits[(u % base as u64) as usize]);
            u /= base as u64;
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(if upper { b'X' } else { b'x' });
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8(buf).unwrap_or_default();
        let z = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = z;
    }

    fn fmt_int_verb(&mut self, u: u64, is_signed: bool, verb: char, v: &Value) {
        match verb {
            'v' | 'd' => self.fmt_integer(u, 10, is_signed, verb, false),
            'b' => self.fmt_integer(u, 2, is_signed, verb, false),
            'o' | 'O' => self.fmt_integer(u, 8, is_signed, verb, false),
            'x' => self.fmt_integer(u, 16, is_signed, verb, false),
            'X' => self.fmt_integer(u, 16, is_signed, verb, true),
            'c' => {
                let c = if is_signed && (u as i64) < 0 {
                    '\u{FFFD}'
                } else {
                    char::from_u32(u as u32)
                        .filter(|_| u <= 0x10FFFF)
                        .unwrap_or('\u{FFFD}')
                };
                self.pad(&c.to_string());
            }
            'q' => {
                let c = char::from_u32(u as u32)
                    .filter(|_| u <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                let s = crate::strconv::quote_rune(c, self.f.plus);
                self.pad(&s);
            }
            'U' => {
                let mut s = format!("U+{u:04X}");
                if self.f.sharp
                    && let Some(c) = char::from_u32(u as u32)
                    && crate::strconv::is_print(c)
                {
                    s.push_str(" '");
                    s.push(c);
                    s.push('\'');
                }
                let z = self.f.zero;
                self.f.zero = false;
                self.pad(&s);
                self.f.zero = z;
            }
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_float(&mut self, x: f64, verb: char, v: &Value) {
        if verb == 'v'
            && !(self.f.plus
                || self.f.space
                || self.f.sharp
                || self.f.wid_present
                || self.f.prec_present)
        {
            // Plain `%v`: Go's shortest `%g`, as `{{ x }}` prints it.
            write_float(&mut self.buf, x);
            return;
        }
        let (fmt, prec) = match verb {
            'v' => ('g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => (verb, -1),
            'f' | 'e' | 'E' | 'F' => (verb, 6),
            _ => return self.bad_verb(verb, Some(v)),
        };
        let prec = if self.f.prec_present {
            self.f.prec as i32
        } else {
            prec
        };
        let fmt = match fmt {
            'F' => 'f',
            c => c,
        };
        let s = format_float(x, fmt, prec);
        let mut num = if s.starts_with('-') || s.starts_with('+') {
            s
        } else {
            format!("+{s}")
        };
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        let b1 = num.as_bytes().get(1).copied();
        if b1 == Some(b'I') || b1 == Some(b'N') {
            let z = self.f.zero;
            self.f.zero = false;
            if b1 == Some(b'N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = z;
            return;
        }
        if self.f.sharp && verb != 'b' {
            // %#g etc. keep trailing zeros / decimal point; approximate: ensure a '.'.
            if !num.contains('.') && !num.contains('e') {
                num.push('.');
            }
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero && self.f.wid_present && self.f.wid > num.len() {
                let sign = num.remove(0);
                self.buf.push(sign);
                let n = self.f.wid - num.len() - 1;
                self.write_padding(n);
                self.buf.push_str(&num);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        truncate(s, self.f)
    }

    fn fmt_sx(&mut self, b: &[u8], upper: bool) {
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let len = if self.f.prec_present {
            b.len().min(self.f.prec)
        } else {
            b.len()
        };
        let mut s = String::new();
        for (i, &c) in b[..len].iter().enumerate() {
            if self.f.space && i > 0 {
                s.push(' ');
            }
            if self.f.sharp && (self.f.space || i == 0) {
                s.push('0');
                s.push(if upper { 'X' } else { 'x' });
            }
            s.push(digits[(c >> 4) as usize] as char);
            s.push(digits[(c & 15) as usize] as char);
        }
        self.pad(&s);
    }

    fn fmt_q(&mut self, s: &str) {
        if !self.f.sharp && !self.f.wid_present && !self.f.prec_present {
            crate::strconv::quote_into(&mut self.buf, s, '"', self.f.plus);
            return;
        }
        let s = self.truncate(s);
        let q = if self.f.sharp && crate::strconv::can_backquote(s) {
            format!("`{s}`")
        } else if self.f.plus {
            quote_ascii(s)
        } else {
            quote(s)
        };
        self.pad(&q);
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(s)
                } else {
                    let t = truncate(s, self.f);
                    self.pad(t)
                }
            }
            's' => {
                let t = truncate(s, self.f);
                self.pad(t)
            }
            'x' => self.fmt_sx(s.as_bytes(), false),
            'X' => self.fmt_sx(s.as_bytes(), true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn bad_verb(&mut self, verb: char, v: Option<&Value>) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Some(v) if !v.is_nil() => {
                self.buf.push_str(&v.type_name());
                self.buf.push('=');
                let saved = self.f;
                self.f = Flags::default();
                self.print_value(v, 'v');
                self.f = saved;
            }
            _ => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
    }

    /// `printArg`: a top-level operand.
    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, None),
            }
            return;
        }
        if verb == 'T' {
            let t = v.type_name();
            self.fmt_string(&t, 's', v);
            return;
        }
        if verb == 'p' {
            self.bad_verb(verb, Some(v));
            return;
        }
        self.print_value(v, verb);
    }

    fn print_value(&mut self, v: &Value, verb: char) {
        match v {
            Value::Nil => self.buf.push_str("<nil>"),
            Value::Bool(b) => self.fmt_bool(*b, verb, v),
            Value::Int(i) | Value::Int64(i) => self.fmt_int_verb(*i as u64, true, verb, v),
            Value::Float(f) => self.fmt_float(*f, verb, v),
            Value::String(s) => self.fmt_string(s, verb, v),
            Value::Bytes(b) => match verb {
                'v' | 'd' => {
                    self.buf.push('[');
                    for (i, c) in b.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.fmt_integer(*c as u64, 10, false, verb, false);
                    }
                    self.buf.push(']');
                }
                's' => {
                    let s = String::from_utf8_lossy(b).into_owned();
                    let t = truncate(&s, self.f);
                    self.pad(t);
                }
                'x' => self.fmt_sx(b, false),
                'X' => self.fmt_sx(b, true),
                'q' => {
                    let s = String::from_utf8_lossy(b).into_owned();
                    self.fmt_q(&s);
                }
                _ => {
                    self.buf.push('[');
                    for (i, c) in b.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.fmt_int_verb(*c as u64, false, verb, &Value::Int(*c as i64));
                    }
                    self.buf.push(']');
                }
            },
            Value::List(l) => {
                if self.f.sharp_v {
                    let t = v.type_name();
                    self.buf.push_str(&t);
                    self.buf.push('{');
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(item, verb);
                    }
                    self.buf.push('}');
                    return;
                }
                self.buf.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    if item.is_nil() && l.elem == ElemType::Interface {
                        self.buf.push_str("<nil>");
                    } else {
                        self.print_value(item, verb);
                    }
                }
                self.buf.push(']');
            }
            Value::Map(m) => {
                let entries = m.entries.borrow();
                if self.f.sharp_v {
                    let t = v.type_name();
                    self.buf.push_str(&t);
                    self.buf.push('{');
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, val)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.fmt_string(k, verb, &Value::str(k));
                    self.buf.push(':');
                    if val.is_nil() {
                        self.buf.push_str(if self.f.sharp_v {
                            "interface {}(nil)"
                        } else {
                            "<nil>"
                        });
                    } else {
                        self.print_value(val, verb);
                    }
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => match verb {
                'v' | 's' | 'x' | 'X' | 'q' => {
                    let s = o.format();
                    self.fmt_string(&s, verb, v);
                }
                _ => self.bad_verb(verb, Some(v)),
            },
        }
    }

    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &[u8],
        i: usize,
        num_args: usize,
        st: &mut PState,
    ) -> (usize, usize, bool) {
        if format.len() <= i || format[i] != b'[' {
            return (arg_num, i, false);
        }
        st.reordered = true;
        let (index, wid, ok) = parse_arg_number(&format[i..]);
        if ok && 0 <= index && (index as usize) < num_args {
            return (index as usize, i + wid, true);
        }
        st.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    fn do_printf<A: Borrow<Value>>(&mut self, format: &str, a: &[A]) {
        let fb = format.as_bytes();
        let end = fb.len();
        let mut arg_num = 0usize;
        let mut after_index;
        let mut st = PState {
            reordered: false,
            good_arg_num: true,
        };
        let mut i = 0usize;
        'format_loop: while i < end {
            st.good_arg_num = true;
            let lasti = i;
            while i < end && fb[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            // The common verbs without flags (`%s`, `%v`, `%d`, `%q`) print directly.
            if i < end && arg_num < a.len() {
                let done = match (fb[i], a[arg_num].borrow()) {
                    (b's' | b'v', Value::String(s)) => {
                        self.buf.push_str(s);
                        true
                    }
                    (b'd' | b'v', Value::Int(n) | Value::Int64(n)) => {
                        write_int(&mut self.buf, *n);
                        true
                    }
                    (b'v', Value::Float(x)) => {
                        write_float(&mut self.buf, *x);
                        true
                    }
                    (b'q', Value::String(s)) => {
                        crate::strconv::quote_into(&mut self.buf, s, '"', false);
                        true
                    }
                    _ => false,
                };
                if done {
                    arg_num += 1;
                    i += 1;
                    continue 'format_loop;
                }
            }
            self.f = Flags::default();
            while i < end {
                let c = fb[i];
                match c {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => {
                        if c.is_ascii_lowercase() && arg_num < a.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(a[arg_num].borrow(), c as char);
                            arg_num += 1;
                            i += 1;
                            continue 'format_loop;
                        }
                        break;
                    }
                }
                i += 1;
            }
            let r = self.arg_number(arg_num, fb, i, a.len(), &mut st);
            arg_num = r.0;
            i = r.1;
            after_index = r.2;
            if i < end && fb[i] == b'*' {
                i += 1;
                let (num, is_int, n) = int_from_arg(a, arg_num);
                arg_num = n;
                self.f.wid_present = is_int;
                if !is_int {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                if num < 0 {
                    self.f.wid = (-num) as usize;
                    self.f.minus = true;
                    self.f.zero = false;
                } else {
                    self.f.wid = num as usize;
                }
                after_index = false;
            } else {
                let (w, present, ni) = parsenum(fb, i, end);
                self.f.wid = w;
                self.f.wid_present = present;
                i = ni;
                if after_index && present {
                    st.good_arg_num = false;
                }
            }
            if i + 1 < end && fb[i] == b'.' {
                i += 1;
                if after_index {
                    st.good_arg_num = false;
                }
                let r = self.arg_number(arg_num, fb, i, a.len(), &mut st);
                arg_num = r.0;
                i = r.1;
                after_index = r.2;
                if i < end && fb[i] == b'*' {
                    i += 1;
                    let (num, is_int, n) = int_from_arg(a, arg_num);
                    arg_num = n;
                    self.f.prec_present = is_int;
                    if num < 0 {
                        self.f.prec = 0;
                        self.f.prec_present = false;
                    } else {
                        self.f.prec = num as usize;
                    }
                    if !self.f.prec_present {
                        self.buf.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, present, ni) = parsenum(fb, i, end);
                    i = ni;
                    self.f.prec = if present { p } else { 0 };
                    self.f.prec_present = true;
                }
            }
            if !after_index {
                let r = self.arg_number(arg_num, fb, i, a.len(), &mut st);
                arg_num = r.0;
                i = r.1;
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('\u{FFFD}');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !st.good_arg_num {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(BADINDEX)");
            } else if arg_num >= a.len() {
                self.buf.push_str("%!");
                self.buf.push(verb);
                self.buf.push_str("(MISSING)");
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(a[arg_num].borrow(), verb);
                arg_num += 1;
            }
        }
        if !st.reordered && arg_num < a.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (i, arg) in a[arg_num..].iter().enumerate() {
                let arg = arg.borrow();
                if i > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_nil() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(&arg.type_name());
                    self.buf.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.buf.push(')');
        }
    }
}

/// A string cut to the precision (in runes), as `%.Ns` does.
fn truncate(s: &str, f: Flags) -> &str {
    if f.prec_present {
        match s.char_indices().nth(f.prec) {
            Some((i, _)) => &s[..i],
            None => s,
        }
    } else {
        s
    }
}

struct PState {
    reordered: bool,
    good_arg_num: bool,
}

fn parse_arg_number(format: &[u8]) -> (i64, usize, bool) {
    if format.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..format.len() {
        if format[i] == b']' {
            let (width, ok, newi) = parsenum(format, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (width as i64 - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

fn int_from_arg<A: Borrow<Value>>(a: &[A], arg_num: usize) -> (i64, bool, usize) {
    if arg_num < a.len() {
        let (mut num, mut is_int) = match a[arg_num].borrow() {
            Value::Int(i) | Value::Int64(i) => (*i, true),
            _ => (0, false),
        };
        if too_large(num) {
            num = 0;
            is_int = false;
        }
        return (num, is_int, arg_num + 1);
    }
    (0, false, arg_num)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn printf_forms() {
        assert_eq!(sprintf("%d", &[Value::Float(3.0)]), "%!d(float64=3)");
        assert_eq!(sprintf("%s %s", &[s("one")]), "one %!s(MISSING)");
        assert_eq!(sprintf("%s", &[s("a"), s("b")]), "a%!(EXTRA string=b)");
        assert_eq!(sprintf("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(sprintf("%T", &[Value::Float(3.0)]), "float64");
        assert_eq!(
            sprintf(
                "%05s|%-5d|%5.2f|%x|%q",
                &[
                    s("ab"),
                    Value::Int(3),
                    Value::Float(3.14158),
                    s("hi"),
                    s("a\"b")
                ]
            ),
            "000ab|3    | 3.14|6869|\"a\\\"b\""
        );
        assert_eq!(
            sprintf("%v %%", &[Value::list(vec![Value::Int(1), s("a")])]),
            "[1 a] %"
        );
        assert_eq!(
            sprintf("%s", &[Value::list(vec![Value::Int(1)])]),
            "[%!s(int=1)]"
        );
        assert_eq!(
            sprintf(
                "%08.3f|%+d|%x|%X|%o|%b|%c|%U",
                &[
                    Value::Float(-3.14158),
                    Value::Int(5),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5),
                    Value::Int(65),
                    Value::Int(65)
                ]
            ),
            "-003.142|+5|ff|FF|10|101|A|U+0041"
        );
        assert_eq!(
            sprintf(
                "%e|%g|%.2e",
                &[
                    Value::Float(1234.5678),
                    Value::Float(1e21),
                    Value::Float(1234.5678)
                ]
            ),
            "1.234568e+03|1e+21|1.23e+03"
        );
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(sprintf("%!", &[]), "%!!(MISSING)");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(
            sprint(&[
                s("a"),
                Value::Int(1),
                Value::Int(2),
                s("b"),
                Value::Float(3.5)
            ]),
            "a1 2b3.5"
        );
        assert_eq!(sprintln(&[s("a"), Value::Int(1)]), "a 1\n");
        assert_eq!(sprint(&[Value::Nil, Value::Int(1)]), "<nil> 1");
    }

    #[test]
    fn float_fast_path_matches_display() {
        let mut x: f64 = 0.0001;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let cands = [
                x,
                -x,
                (seed % 1_000_000) as f64 / 1000.0,
                (seed % 10_000) as f64 / 16.0,
                f64::from_bits(0x3ff0_0000_0000_0000 | (seed >> 12)),
                0.1 + 0.2,
                (seed % 999_999) as f64 * 0.01,
            ];
            for c in cands {
                let a = c.abs();
                if (1e-4..1e6).contains(&a) && c.fract() != 0.0 {
                    let mut out = String::new();
                    write_float(&mut out, c);
                    assert_eq!(out, format!("{c}"), "{c:e}");
                }
            }
            x *= 1.37;
            if x > 1e6 {
                x = 0.0001;
            }
        }
    }

    #[test]
    fn values() {
        let mut m = crate::value::Map::new();
        m.insert("b".into(), Value::Int(2));
        m.insert("a".into(), Value::Nil);
        m.insert("10".into(), s("x"));
        assert_eq!(format_value(&Value::map(m)), "map[10:x a:<nil> b:2]");
        assert_eq!(
            format_value(&Value::Bytes(std::rc::Rc::from(&b"hi"[..]))),
            "[104 105]"
        );
        assert_eq!(format_value(&Value::Float(1e6)), "1e+06");
    }
}
