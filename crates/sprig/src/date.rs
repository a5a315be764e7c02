//! Go's `time` package as Sprig uses it: `time.Time` values, reference-layout formatting and
//! parsing, durations, and the Sprig date functions.

use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use gotmpl::{FuncError, FuncMap, Object, Type as T, Value};
use jiff::tz::TimeZone;

use crate::{arg_i, arg_s, fixed, reg};

/// A Go `*time.Location`.
#[derive(Clone, Debug)]
pub enum Loc {
    /// `time.UTC`.
    Utc,
    /// `time.Local` (the system zone, named `Local`).
    Local(TimeZone),
    /// A zone from `time.LoadLocation`.
    Named(String, TimeZone),
    /// `time.FixedZone(name, offset)`.
    Fixed(String, i32),
}

impl Loc {
    fn local() -> Loc {
        Loc::Local(TimeZone::try_system().unwrap_or(TimeZone::UTC))
    }

    /// `time.LoadLocation`.
    fn load(name: &str) -> Option<Loc> {
        match name {
            "" | "UTC" => Some(Loc::Utc),
            "Local" => Some(Loc::local()),
            n if n.contains("..") || n.starts_with('/') || n.contains('\\') => None,
            n => TimeZone::get(n)
                .ok()
                .map(|tz| Loc::Named(n.to_string(), tz)),
        }
    }

    /// Offset (seconds east of UTC) and abbreviation at a Unix instant.
    fn lookup(&self, secs: i64) -> (i32, String) {
        let tz = match self {
            Loc::Utc => return (0, "UTC".into()),
            Loc::Fixed(n, o) => return (*o, n.clone()),
            Loc::Local(tz) | Loc::Named(_, tz) => tz,
        };
        match jiff::Timestamp::new(secs, 0) {
            Ok(ts) => {
                let info = tz.to_offset_info(ts);
                (info.offset().seconds(), info.abbreviation().to_string())
            }
            Err(_) => (0, "UTC".into()),
        }
    }
}

/// A Go `time.Time`: an instant and a location.
#[derive(Clone, Debug)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nsec: u32,
    /// The location used for printing.
    pub loc: Loc,
    /// Monotonic clock reading (only `now`), printed as ` m=+…`.
    pub mono: Option<f64>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(m: i64, y: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Broken-down wall clock of a time in its location.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: u32,
    wday: usize,
    yday: i64,
    offset: i32,
    zone: String,
}

impl GoTime {
    /// The zero `time.Time` (`0001-01-01 00:00:00 +0000 UTC`).
    pub fn zero() -> GoTime {
        GoTime {
            secs: days_from_civil(1, 1, 1) * 86400,
            nsec: 0,
            loc: Loc::Utc,
            mono: None,
        }
    }

    /// `time.Now()` in the local zone.
    pub fn now() -> GoTime {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            secs: d.as_secs() as i64,
            nsec: d.subsec_nanos(),
            loc: Loc::local(),
            mono: Some(0.0),
        }
    }

    /// `time.Unix(secs, 0)` in the local zone.
    pub fn unix(secs: i64) -> GoTime {
        GoTime {
            secs,
            nsec: 0,
            loc: Loc::local(),
            mono: None,
        }
    }

    fn civil(&self) -> Civil {
        let (offset, zone) = self.loc.lookup(self.secs);
        let local = self.secs + offset as i64;
        let days = local.div_euclid(86400);
        let rem = local.rem_euclid(86400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem % 3600 / 60,
            sec: rem % 60,
            nsec: self.nsec,
            wday: (days + 4).rem_euclid(7) as usize,
            yday: days - days_from_civil(year, 1, 1) + 1,
            offset,
            zone,
        }
    }

    /// Go's `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else { break };
            rest = suffix;
            let hr12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
            match std {
                Std::Year => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
                Std::LongYear => out.push_str(&pad_int(c.year, 4)),
                Std::Month => out.push_str(&MONTHS[(c.month - 1) as usize][..3]),
                Std::LongMonth => out.push_str(MONTHS[(c.month - 1) as usize]),
                Std::NumMonth => out.push_str(&c.month.to_string()),
                Std::ZeroMonth => out.push_str(&format!("{:02}", c.month)),
                Std::WeekDay => out.push_str(&DAYS[c.wday][..3]),
                Std::LongWeekDay => out.push_str(DAYS[c.wday]),
                Std::Day => out.push_str(&c.day.to_string()),
                Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
                Std::ZeroDay => out.push_str(&format!("{:02}", c.day)),
                Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
                Std::ZeroYearDay => out.push_str(&format!("{:03}", c.yday)),
                Std::Hour => out.push_str(&format!("{:02}", c.hour)),
                Std::Hour12 => out.push_str(&hr12.to_string()),
                Std::ZeroHour12 => out.push_str(&format!("{:02}", hr12)),
                Std::Minute => out.push_str(&c.min.to_string()),
                Std::ZeroMinute => out.push_str(&format!("{:02}", c.min)),
                Std::Second => out.push_str(&c.sec.to_string()),
                Std::ZeroSecond => out.push_str(&format!("{:02}", c.sec)),
                Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                Std::Tz(kind) => format_tz(&mut out, kind, c.offset),
                Std::Name => {
                    if !c.zone.is_empty() {
                        out.push_str(&c.zone);
                    } else {
                        let z = c.offset / 60;
                        out.push(if z < 0 { '-' } else { '+' });
                        out.push_str(&format!("{:02}{:02}", z.abs() / 60, z.abs() % 60));
                    }
                }
                Std::Frac { sep, digits, nines } => {
                    let s = format!("{:09}", c.nsec);
                    if nines {
                        let t = s[..digits.min(9)].trim_end_matches('0');
                        if !t.is_empty() {
                            out.push(sep);
                            out.push_str(t);
                        }
                    } else {
                        out.push(sep);
                        out.push_str(&s[..digits.min(9)]);
                    }
                }
            }
        }
        out
    }

    /// Go's `Time.String()`.
    pub fn go_string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            s.push_str(&format!(" m=+{m:.9}"));
        }
        s
    }

    /// `Time.Add(d)` (nanoseconds).
    pub fn add(&self, d: i128) -> GoTime {
        let total = self.secs as i128 * 1_000_000_000 + self.nsec as i128 + d;
        GoTime {
            secs: total.div_euclid(1_000_000_000) as i64,
            nsec: total.rem_euclid(1_000_000_000) as u32,
            loc: self.loc.clone(),
            mono: None,
        }
    }

    fn unix_nano(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nsec as i128
    }
}

fn pad_int(v: i64, width: usize) -> String {
    if v < 0 {
        format!("-{:0width$}", -v, width = width)
    } else {
        format!("{:0width$}", v, width = width)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TzKind {
    /// (iso 'Z' form, colon, seconds, short)
    Spec {
        iso: bool,
        colon: bool,
        seconds: bool,
        short: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    Year,
    LongYear,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    Name,
    Tz(TzKind),
    Frac {
        sep: char,
        digits: usize,
        nines: bool,
    },
}

fn format_tz(out: &mut String, kind: TzKind, offset: i32) {
    let TzKind::Spec {
        iso,
        colon,
        seconds,
        short,
    } = kind;
    if offset == 0 && iso {
        out.push('Z');
        return;
    }
    let mut zone = offset / 60;
    let mut abs = offset;
    if zone < 0 {
        out.push('-');
        zone = -zone;
        abs = -abs;
    } else {
        out.push('+');
    }
    out.push_str(&format!("{:02}", zone / 60));
    if colon {
        out.push(':');
    }
    if !short {
        out.push_str(&format!("{:02}", zone % 60));
    }
    if seconds {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", abs % 60));
    }
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `nextStdChunk`: (prefix, std, suffix).
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let tz = |iso, colon, seconds, short| {
        Std::Tz(TzKind::Spec {
            iso,
            colon,
            seconds,
            short,
        })
    };
    for i in 0..b.len() {
        let rest = &layout[i..];
        let hit = |n: usize, s: Std| Some((&layout[..i], Some(s), &layout[i + n..]));
        let r = match b[i] {
            b'J' if rest.starts_with("Jan") => {
                if rest.starts_with("January") {
                    hit(7, Std::LongMonth)
                } else if !starts_lower(&rest[3..]) {
                    hit(3, Std::Month)
                } else {
                    None
                }
            }
            b'M' if rest.len() >= 3 => {
                if rest.starts_with("Monday") {
                    hit(6, Std::LongWeekDay)
                } else if rest.starts_with("Mon") && !starts_lower(&rest[3..]) {
                    hit(3, Std::WeekDay)
                } else if rest.starts_with("MST") {
                    hit(3, Std::Name)
                } else {
                    None
                }
            }
            b'0' => {
                if b.len() >= i + 2 && (b'1'..=b'6').contains(&b[i + 1]) {
                    let s = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][(b[i + 1] - b'1') as usize];
                    hit(2, s)
                } else if rest.starts_with("002") {
                    hit(3, Std::ZeroYearDay)
                } else {
                    None
                }
            }
            b'1' => {
                if rest.starts_with("15") {
                    hit(2, Std::Hour)
                } else {
                    hit(1, Std::NumMonth)
                }
            }
            b'2' => {
                if rest.starts_with("2006") {
                    hit(4, Std::LongYear)
                } else {
                    hit(1, Std::Day)
                }
            }
            b'_' => {
                if rest.starts_with("_2") {
                    if rest.starts_with("_2006") {
                        Some((&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]))
                    } else {
                        hit(2, Std::UnderDay)
                    }
                } else if rest.starts_with("__2") {
                    hit(3, Std::UnderYearDay)
                } else {
                    None
                }
            }
            b'3' => hit(1, Std::Hour12),
            b'4' => hit(1, Std::Minute),
            b'5' => hit(1, Std::Second),
            b'P' if rest.starts_with("PM") => hit(2, Std::PM),
            b'p' if rest.starts_with("pm") => hit(2, Std::Pm),
            b'-' => {
                if rest.starts_with("-070000") {
                    hit(7, tz(false, false, true, false))
                } else if rest.starts_with("-07:00:00") {
                    hit(9, tz(false, true, true, false))
                } else if rest.starts_with("-0700") {
                    hit(5, tz(false, false, false, false))
                } else if rest.starts_with("-07:00") {
                    hit(6, tz(false, true, false, false))
                } else if rest.starts_with("-07") {
                    hit(3, tz(false, false, false, true))
                } else {
                    None
                }
            }
            b'Z' => {
                if rest.starts_with("Z070000") {
                    hit(7, tz(true, false, true, false))
                } else if rest.starts_with("Z07:00:00") {
                    hit(9, tz(true, true, true, false))
                } else if rest.starts_with("Z0700") {
                    hit(5, tz(true, false, false, false))
                } else if rest.starts_with("Z07:00") {
                    hit(6, tz(true, true, false, false))
                } else if rest.starts_with("Z07") {
                    hit(3, tz(true, false, false, true))
                } else {
                    None
                }
            }
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if !(j < b.len() && b[j].is_ascii_digit()) {
                    Some((
                        &layout[..i],
                        Some(Std::Frac {
                            sep: b[i] as char,
                            digits: j - (i + 1),
                            nines: ch == b'9',
                        }),
                        &layout[j..],
                    ))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(r) = r {
            return r;
        }
    }
    (layout, None, "")
}

fn go_quote(s: &str) -> String {
    crate::gofmt::quote(s)
}

/// Go's `time.ParseInLocation`; `Err` is Go's error text.
pub fn parse(layout: &str, value: &str, loc: Loc) -> Result<GoTime, String> {
    let orig_value = value;
    let cannot = |vel: &str, lel: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote(orig_value),
            go_quote(layout),
            go_quote(vel),
            go_quote(lel)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", go_quote(orig_value));
    let (mut year, mut month, mut day, mut yday) = (1i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let mut pm_set = false;
    let mut am_set = false;
    let mut z_offset: Option<i32> = None;
    let mut z_name: Option<String> = None;
    let mut lay = layout;
    let mut val = value;
    loop {
        let (prefix, std, suffix) = next_std_chunk(lay);
        let std_str = &lay[prefix.len()..lay.len() - suffix.len()];
        val = skip(val, prefix).ok_or_else(|| cannot(val, prefix))?;
        let Some(std) = std else {
            if !val.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    go_quote(orig_value),
                    go_quote(val)
                ));
            }
            break;
        };
        lay = suffix;
        let hold = val;
        let bad = || cannot(hold, std_str);
        match std {
            Std::Year => {
                let (n, r) = fixed_digits(val, 2).ok_or_else(bad)?;
                year = if n >= 69 { n + 1900 } else { n + 2000 };
                val = r;
            }
            Std::LongYear => {
                let (n, r) = fixed_digits(val, 4).ok_or_else(bad)?;
                year = n;
                val = r;
            }
            Std::Month | Std::LongMonth => {
                let (idx, r) = lookup_name(val, std == Std::Month, &MONTHS).ok_or_else(bad)?;
                month = idx as i64 + 1;
                val = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, r) = getnum(val, std == Std::ZeroMonth).ok_or_else(bad)?;
                if !(1..=12).contains(&n) {
                    return Err(range("month"));
                }
                month = n;
                val = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let (_, r) = lookup_name(val, std == Std::WeekDay, &DAYS).ok_or_else(bad)?;
                val = r;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && val.starts_with(' ') {
                    val = &val[1..];
                }
                let (n, r) = getnum(val, std == Std::ZeroDay).ok_or_else(bad)?;
                day = n;
                val = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut v = val;
                if std == Std::UnderYearDay {
                    for _ in 0..2 {
                        if v.starts_with(' ') {
                            v = &v[1..];
                        }
                    }
                }
                let (n, r) = getnum3(v, std == Std::ZeroYearDay).ok_or_else(bad)?;
                yday = n;
                val = r;
            }
            Std::Hour => {
                let (n, r) = getnum(val, false).ok_or_else(bad)?;
                if !(0..24).contains(&n) {
                    return Err(range("hour"));
                }
                hour = n;
                val = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, r) = getnum(val, std == Std::ZeroHour12).ok_or_else(bad)?;
                if !(0..=12).contains(&n) {
                    return Err(range("hour"));
                }
                hour = n;
                val = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, r) = getnum(val, std == Std::ZeroMinute).ok_or_else(bad)?;
                if !(0..60).contains(&n) {
                    return Err(range("minute"));
                }
                min = n;
                val = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, r) = getnum(val, std == Std::ZeroSecond).ok_or_else(bad)?;
                if !(0..60).contains(&n) {
                    return Err(range("second"));
                }
                sec = n;
                val = r;
                // A fractional second in the value but not in the layout.
                let b = val.as_bytes();
                if b.len() >= 2 && (b[0] == b'.' || b[0] == b',') && b[1].is_ascii_digit() {
                    let (_, next, _) = next_std_chunk(lay);
                    if !matches!(next, Some(Std::Frac { .. })) {
                        let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nsec = parse_nanos(&val[..n]);
                        val = &val[n..];
                    }
                }
            }
            Std::PM | Std::Pm => {
                let p = val.get(..2).ok_or_else(bad)?;
                let p = if std == Std::PM {
                    p.to_string()
                } else {
                    p.to_ascii_uppercase()
                };
                match p.as_str() {
                    "PM" => pm_set = true,
                    "AM" => am_set = true,
                    _ => return Err(bad()),
                }
                val = &val[2..];
            }
            Std::Tz(TzKind::Spec {
                iso,
                colon,
                seconds,
                short,
            }) => {
                if iso && val.starts_with('Z') {
                    val = &val[1..];
                    z_offset = None;
                    z_name = Some("UTC".into());
                    continue;
                }
                let b = val.as_bytes();
                let need = 3
                    + if short { 0 } else { 2 + colon as usize }
                    + if seconds { 2 + colon as usize } else { 0 };
                if b.len() < need || !(b[0] == b'+' || b[0] == b'-') {
                    return Err(bad());
                }
                let digits = |s: &str| -> Option<i64> {
                    if s.len() == 2 && s.bytes().all(|c| c.is_ascii_digit()) {
                        s.parse().ok()
                    } else {
                        None
                    }
                };
                let hh = digits(&val[1..3]).ok_or_else(bad)?;
                let mut p = 3;
                let mut mm = 0;
                let mut ss = 0;
                if !short {
                    if colon {
                        if b[p] != b':' {
                            return Err(bad());
                        }
                        p += 1;
                    }
                    mm = digits(&val[p..p + 2]).ok_or_else(bad)?;
                    p += 2;
                }
                if seconds {
                    if colon {
                        if b[p] != b':' {
                            return Err(bad());
                        }
                        p += 1;
                    }
                    ss = digits(&val[p..p + 2]).ok_or_else(bad)?;
                    p += 2;
                }
                if hh > 24 || mm >= 60 || ss >= 60 {
                    return Err(range("time zone offset"));
                }
                let mut off = (hh * 3600 + mm * 60 + ss) as i32;
                if b[0] == b'-' {
                    off = -off;
                }
                z_offset = Some(off);
                val = &val[p..];
            }
            Std::Name => {
                if val.starts_with("UTC") {
                    z_name = Some("UTC".into());
                    val = &val[3..];
                    continue;
                }
                let n = parse_tz_name(val).ok_or_else(bad)?;
                z_name = Some(val[..n].to_string());
                val = &val[n..];
            }
            Std::Frac { digits, nines, .. } => {
                let b = val.as_bytes();
                if nines {
                    if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !b[1].is_ascii_digit() {
                        continue;
                    }
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = parse_nanos(&val[..n]);
                    val = &val[n..];
                } else {
                    let n = 1 + digits;
                    if b.len() < n
                        || !(b[0] == b'.' || b[0] == b',')
                        || !b[1..n].iter().all(|c| c.is_ascii_digit())
                    {
                        return Err(bad());
                    }
                    nsec = parse_nanos(&val[..n]);
                    val = &val[n..];
                }
            }
        }
    }
    if pm_set && hour < 12 {
        hour += 12;
    } else if am_set && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let (mut d, mut m) = (0, 0);
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(range("day-of-year"));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            let cum = |m: i64| (1..m).map(|k| days_in(k, 2001)).sum::<i64>();
            if cum(m + 1) < yday {
                m += 1;
            }
            d = yday - cum(m);
        }
        if month >= 0 && month != m {
            return Err(format!(
                "parsing time {}: day-of-year does not match month",
                go_quote(orig_value)
            ));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(format!(
                "parsing time {}: day-of-year does not match day",
                go_quote(orig_value)
            ));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(range("day"));
    }
    let wall = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    if let Some(off) = z_offset {
        let secs = wall - off as i64;
        let (loff, lname) = loc.lookup(secs);
        let l = if loff == off {
            loc
        } else {
            let _ = lname;
            Loc::Fixed(String::new(), off)
        };
        return Ok(GoTime {
            secs,
            nsec: nsec as u32,
            loc: l,
            mono: None,
        });
    }
    if let Some(name) = z_name {
        if name == "UTC" {
            return Ok(GoTime {
                secs: wall,
                nsec: nsec as u32,
                loc: Loc::Utc,
                mono: None,
            });
        }
        // Known abbreviation of the location at that time: use its offset.
        let (loff, lname) = loc.lookup(wall);
        if lname == name {
            return Ok(GoTime {
                secs: wall - loff as i64,
                nsec: nsec as u32,
                loc,
                mono: None,
            });
        }
        let mut off = 0;
        if name.len() > 3 && (name.starts_with("GMT") || name.starts_with("UTC")) {
            off = name[3..].parse::<i32>().unwrap_or(0) * 3600;
        }
        return Ok(GoTime {
            secs: wall - off as i64,
            nsec: nsec as u32,
            loc: Loc::Fixed(name, off),
            mono: None,
        });
    }
    // Wall clock in `loc`.
    let (o1, _) = loc.lookup(wall);
    let mut secs = wall - o1 as i64;
    let (o2, _) = loc.lookup(secs);
    if o2 != o1 {
        secs = wall - o2 as i64;
    }
    Ok(GoTime {
        secs,
        nsec: nsec as u32,
        loc,
        mono: None,
    })
}

fn parse_nanos(frac: &str) -> i64 {
    let digits = &frac[1..];
    let mut s: String = digits.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

fn parse_tz_name(v: &str) -> Option<usize> {
    let b = v.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if b.len() >= 4 && (&v[..4] == "ChST" || &v[..4] == "MeST") {
        return Some(4);
    }
    if v.starts_with("GMT") || v.starts_with("UTC") {
        let rest = &b[3..];
        if rest.is_empty() || !(rest[0] == b'+' || rest[0] == b'-') {
            return Some(3);
        }
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 2 {
            return Some(3);
        }
        return Some(4 + n);
    }
    let n = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    match n {
        3 => Some(3),
        4 if b[3] == b'T' => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `skip`: match a literal prefix, runs of spaces matching runs of spaces.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while !prefix.is_empty() {
        if prefix.starts_with(' ') {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        let c = prefix.chars().next()?;
        if !value.starts_with(c) {
            return None;
        }
        prefix = &prefix[c.len_utf8()..];
        value = &value[c.len_utf8()..];
    }
    Some(value)
}

fn fixed_digits(v: &str, n: usize) -> Option<(i64, &str)> {
    if v.len() < n || !v.as_bytes()[..n].iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((v[..n].parse().ok()?, &v[n..]))
}

fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some(((b[0] - b'0') as i64, &v[1..]));
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as i64, &v[2..]))
}

fn getnum3(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && i < b.len() && b[i].is_ascii_digit() {
        n = n * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &v[i..]))
}

fn lookup_name<'a>(v: &'a str, short: bool, names: &[&str]) -> Option<(usize, &'a str)> {
    for (i, name) in names.iter().enumerate() {
        let n = if short { &name[..3] } else { name };
        if v.len() >= n.len() && v[..n.len()].eq_ignore_ascii_case(n) {
            return Some((i, &v[n.len()..]));
        }
    }
    None
}

/// Go's `time.ParseDuration`, in nanoseconds; `Err` is Go's error text.
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let orig = s;
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = s;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let int_part: u128 = if int_len > 0 {
            s[..int_len].parse().map_err(|_| invalid())?
        } else {
            0
        };
        s = &s[int_len..];
        let mut frac: u128 = 0;
        let mut scale: u128 = 1;
        let mut frac_len = 0;
        if s.starts_with('.') {
            s = &s[1..];
            frac_len = s.bytes().take_while(|c| c.is_ascii_digit()).count();
            for c in s[..frac_len].bytes() {
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + (c - b'0') as u128;
                    scale *= 10;
                }
            }
            s = &s[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let ulen = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if ulen == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let unit: u128 = match &s[..ulen] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(u),
                    go_quote(orig)
                ));
            }
        };
        s = &s[ulen..];
        let v = int_part.checked_mul(unit).ok_or_else(invalid)? + frac * unit / scale;
        total += v;
        if total > 1u128 << 63 {
            return Err(invalid());
        }
    }
    if !neg && total > i64::MAX as u128 {
        return Err(invalid());
    }
    Ok(if neg { -(total as i128) } else { total as i128 })
}

/// Go's `time.Duration.String()`.
pub fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    if u < 1_000_000_000 {
        let (unit, div) = if u == 0 {
            return "0s".into();
        } else if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        let s = frac_string(u, div);
        return format!("{}{s}{unit}", if neg { "-" } else { "" });
    }
    let mut out = String::new();
    let secs_part = frac_string(u % 60_000_000_000, 1_000_000_000);
    u /= 60_000_000_000;
    let mut parts = String::new();
    if u > 0 {
        let m = u % 60;
        u /= 60;
        if u > 0 {
            parts.push_str(&format!("{u}h"));
        }
        parts.push_str(&format!("{m}m"));
    }
    if neg {
        out.push('-');
    }
    out.push_str(&parts);
    out.push_str(&secs_part);
    out.push('s');
    out
}

fn frac_string(v: u64, div: u64) -> String {
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{:0width$}", frac, width = width);
    format!("{int}.{}", f.trim_end_matches('0'))
}

impl Object for GoTime {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn format(&self) -> String {
        self.go_string()
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
        let c = self.civil();
        let v = match name {
            "Unix" => Value::Int64(self.secs),
            "UnixNano" => Value::Int64(self.unix_nano() as i64),
            "UnixMilli" => Value::Int64((self.unix_nano() / 1_000_000) as i64),
            "Year" => Value::Int(c.year),
            "Month" => Value::str(MONTHS[(c.month - 1) as usize]),
            "Day" => Value::Int(c.day),
            "Hour" => Value::Int(c.hour),
            "Minute" => Value::Int(c.min),
            "Second" => Value::Int(c.sec),
            "Nanosecond" => Value::Int(c.nsec as i64),
            "YearDay" => Value::Int(c.yday),
            "Weekday" => Value::str(DAYS[c.wday]),
            "IsZero" => Value::Bool(self.secs == GoTime::zero().secs && self.nsec == 0),
            "String" => Value::from(self.go_string()),
            "UTC" => Value::object(GoTime {
                loc: Loc::Utc,
                mono: None,
                ..self.clone()
            }),
            "Local" => Value::object(GoTime {
                loc: Loc::local(),
                mono: None,
                ..self.clone()
            }),
            "Format" => Value::from(self.format(&crate::arg_s(args.first()?))),
            "Add" => Value::object(self.add(crate::arg_i(args.first()?) as i128)),
            _ => return None,
        };
        Some(Ok(v))
    }
    fn to_data(&self) -> Option<Value> {
        Some(Value::from(
            self.format("2006-01-02T15:04:05.999999999Z07:00"),
        ))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The `time.Time` inside a value, if it is one.
pub fn as_time(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<GoTime>().cloned(),
        _ => None,
    }
}

/// Go's `time.Time` as a parameter type.
const TIME: T = T::Object("time.Time");

fn need_time(v: &Value) -> Result<GoTime, FuncError> {
    as_time(v).ok_or_else(|| {
        FuncError::raw(format!(
            "can't handle {} for arg of type time.Time",
            match v {
                Value::String(s) => go_quote(s),
                other => crate::gofmt::sprint(other),
            }
        ))
    })
}

fn time_of(v: &Value, with_int32: bool) -> GoTime {
    let _ = with_int32;
    match v {
        Value::Int(i) | Value::Int64(i) => GoTime::unix(*i),
        other => as_time(other).unwrap_or_else(GoTime::now),
    }
}

fn date_in_zone(layout: &str, t: &Value, zone: &str) -> String {
    let t = time_of(t, true);
    let loc = Loc::load(zone).unwrap_or(Loc::Utc);
    GoTime { loc, ..t }.format(layout)
}

fn tobj(t: GoTime) -> Value {
    Value::Object(Rc::new(t))
}

pub fn register(m: &mut FuncMap) {
    reg(m, "now", fixed(&[]), |_| Ok(tobj(GoTime::now())));
    reg(m, "date", fixed(&[T::String, T::Any]), |a| {
        Ok(Value::from(date_in_zone(&arg_s(&a[0]), &a[1], "Local")))
    });
    for name in ["dateInZone", "date_in_zone"] {
        reg(m, name, fixed(&[T::String, T::Any, T::String]), |a| {
            Ok(Value::from(date_in_zone(
                &arg_s(&a[0]),
                &a[1],
                &arg_s(&a[2]),
            )))
        });
    }
    reg(m, "htmlDate", fixed(&[T::Any]), |a| {
        Ok(Value::from(date_in_zone("2006-01-02", &a[0], "Local")))
    });
    reg(m, "htmlDateInZone", fixed(&[T::Any, T::String]), |a| {
        Ok(Value::from(date_in_zone(
            "2006-01-02",
            &a[0],
            &arg_s(&a[1]),
        )))
    });
    for name in ["dateModify", "date_modify"] {
        reg(m, name, fixed(&[T::String, TIME]), |a| {
            let t = need_time(&a[1])?;
            Ok(match parse_duration(&arg_s(&a[0])) {
                Ok(d) => tobj(t.add(d)),
                Err(_) => tobj(t),
            })
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        reg(m, name, fixed(&[T::String, TIME]), |a| {
            let t = need_time(&a[1])?;
            let d = parse_duration(&arg_s(&a[0])).map_err(FuncError::new)?;
            Ok(tobj(t.add(d)))
        });
    }
    reg(m, "ago", fixed(&[T::Any]), |a| {
        let t = match &a[0] {
            Value::Int(i) | Value::Int64(i) => GoTime::unix(*i),
            other => as_time(other).unwrap_or_else(GoTime::now),
        };
        let now = GoTime::now();
        let d = now.unix_nano() - t.unix_nano();
        // Round to the second, halves away from zero.
        let s = 1_000_000_000i128;
        let r = if d >= 0 {
            (d + s / 2) / s * s
        } else {
            -((-d + s / 2) / s * s)
        };
        Ok(Value::from(duration_string(
            r.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        )))
    });
    reg(m, "duration", fixed(&[T::Any]), |a| {
        let n: i64 = match &a[0] {
            Value::String(s) => crate::conv::parse_int(s, 10).unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::from(duration_string(n.wrapping_mul(1_000_000_000))))
    });
    reg(m, "durationRound", fixed(&[T::Any]), |a| {
        let d: i128 = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int64(i) => *i as i128,
            other => match as_time(other) {
                Some(t) => GoTime::now().unix_nano() - t.unix_nano(),
                None => 0,
            },
        };
        let u = d.unsigned_abs();
        const H: u128 = 3_600_000_000_000;
        let (year, month, day, hour, minute, second) = (
            H * 24 * 365,
            H * 24 * 30,
            H * 24,
            H,
            60_000_000_000u128,
            1_000_000_000u128,
        );
        let s = if u > year {
            format!("{}y", u / year)
        } else if u > month {
            format!("{}mo", u / month)
        } else if u > day {
            format!("{}d", u / day)
        } else if u > hour {
            format!("{}h", u / hour)
        } else if u > minute {
            format!("{}m", u / minute)
        } else if u > second {
            format!("{}s", u / second)
        } else {
            "0s".to_string()
        };
        Ok(Value::from(s))
    });
    reg(m, "toDate", fixed(&[T::String, T::String]), |a| {
        Ok(tobj(
            parse(&arg_s(&a[0]), &arg_s(&a[1]), Loc::local()).unwrap_or_else(|_| GoTime::zero()),
        ))
    });
    reg(
        m,
        "mustToDate",
        fixed(&[T::String, T::String]),
        |a| match parse(&arg_s(&a[0]), &arg_s(&a[1]), Loc::local()) {
            Ok(t) => Ok(tobj(t)),
            Err(e) => Err(FuncError::new(e)),
        },
    );
    reg(m, "unixEpoch", fixed(&[TIME]), |a| {
        Ok(Value::from(need_time(&a[0])?.secs.to_string()))
    });
    let _ = arg_i;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(layout: &str, v: &str) -> GoTime {
        parse(layout, v, Loc::Utc).unwrap()
    }

    #[test]
    fn format_and_parse() {
        let t = utc("2006-01-02T15:04:05.999999999", "2024-03-05T01:02:03.45");
        assert_eq!(t.go_string(), "2024-03-05 01:02:03.45 +0000 UTC");
        assert_eq!(
            t.format("Mon Jan _2 15:04:05.000 MST 2006 -07:00 Z07:00 pm"),
            "Tue Mar  5 01:02:03.450 UTC 2024 +00:00 Z am"
        );
        let ny = GoTime {
            loc: Loc::load("America/New_York").unwrap(),
            ..t.clone()
        };
        assert_eq!(
            ny.format("Mon Jan _2 15:04:05.000 MST 2006 -07:00 Z07:00 pm"),
            "Mon Mar  4 20:02:03.450 EST 2024 -05:00 -05:00 pm"
        );
        assert_eq!(GoTime::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(utc("2006-01-02", "2024-03-05").secs, 1709596800);
        assert_eq!(
            parse("2006-01-02", "2024-13-05", Loc::Utc).unwrap_err(),
            "parsing time \"2024-13-05\": month out of range"
        );
        assert_eq!(
            parse("2006-01-02", "x2024", Loc::Utc).unwrap_err(),
            "parsing time \"x2024\" as \"2006-01-02\": cannot parse \"x2024\" as \"2006\""
        );
        assert_eq!(
            parse("2006-01-02", "2024-02-03 junk", Loc::Utc).unwrap_err(),
            "parsing time \"2024-02-03 junk\": extra text: \" junk\""
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration_string(3700 * 1_000_000_000), "1h1m40s");
        assert_eq!(duration_string(-1_000_000_000), "-1s");
        assert_eq!(duration_string(1_500_000), "1.5ms");
        assert_eq!(duration_string(0), "0s");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_duration("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(
            parse_duration("bad").unwrap_err(),
            "time: invalid duration \"bad\""
        );
        assert_eq!(
            parse_duration("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
    }
}
