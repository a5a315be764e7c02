//! Sprig's math: int64 arithmetic (`cast.ToInt64`), float arithmetic through
//! shopspring/decimal, rounding, sequences.

use crate::conv::to_float64;
use gotmpl::{FuncError, Value};

/// A decimal `m × 10^e`, as shopspring/decimal holds it (with a bounded mantissa here).
#[derive(Clone, Copy, Debug)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips to `f`.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Dec { m: 0, e: 0 });
        }
        let s = format!("{:e}", f);
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
        let m: i128 = digits.parse().ok()?;
        let e = exp - (digits.len() as i32 - 1);
        Some(Dec {
            m: if neg { -m } else { m },
            e,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    fn rescale(self, e: i32) -> Option<i128> {
        // e <= self.e
        let mut m = self.m;
        for _ in 0..(self.e - e) {
            m = m.checked_mul(10)?;
        }
        Some(m)
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let e = self.e.min(o.e);
        Some(Dec {
            m: self.rescale(e)?.checked_add(o.rescale(e)?)?,
            e,
        })
    }

    fn sub(self, o: Dec) -> Option<Dec> {
        self.add(Dec { m: -o.m, e: o.e })
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            m: self.m.checked_mul(o.m)?,
            e: self.e.checked_add(o.e)?,
        })
    }

    /// `DivRound(o, 16)`: 16 decimal places, half away from zero.
    fn div(self, o: Dec) -> Option<Dec> {
        const PREC: i32 = 16;
        // q × 10^-16 = (a.m × 10^a.e) / (b.m × 10^b.e)
        let shift = self.e - o.e + PREC;
        let (mut num, mut den) = (self.m, o.m);
        if shift >= 0 {
            for _ in 0..shift {
                num = num.checked_mul(10)?;
            }
        } else {
            for _ in 0..(-shift) {
                den = den.checked_mul(10)?;
            }
        }
        let q = num / den;
        let r = num % den;
        let q = if r.checked_mul(2)?.abs() >= den.abs() {
            if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
        } else {
            q
        };
        Some(Dec { m: q, e: -PREC })
    }
}

/// How a decimal operation combines two operands.
#[derive(Clone, Copy)]
pub enum DecOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// Sprig's `execDecimalOp`.
pub fn decimal_op(first: &Value, rest: &[Value], op: DecOp) -> Result<f64, FuncError> {
    let a = to_float64(first);
    let mut acc = Dec::from_f64(a);
    let mut facc = a;
    for x in rest {
        let xf = to_float64(x);
        if let DecOp::Div = op
            && xf == 0.0
        {
            return Err(FuncError::new("decimal division by 0"));
        }
        let dx = Dec::from_f64(xf);
        acc = match (acc, dx) {
            (Some(a), Some(b)) => match op {
                DecOp::Add => a.add(b),
                DecOp::Sub => a.sub(b),
                DecOp::Mul => a.mul(b),
                DecOp::Div => a.div(b),
            },
            _ => None,
        };
        facc = match op {
            DecOp::Add => facc + xf,
            DecOp::Sub => facc - xf,
            DecOp::Mul => facc * xf,
            DecOp::Div => facc / xf,
        };
        if let Some(d) = acc {
            facc = d.to_f64();
        }
        if acc.is_none() {
            acc = Dec::from_f64(facc);
        }
    }
    Ok(match acc {
        Some(d) => d.to_f64(),
        None => facc,
    })
}

/// Sprig's `round(a, p, rOpt...)`.
pub fn round(a: &Value, places: i64, round_on: f64) -> f64 {
    let val = to_float64(a);
    let pow = 10f64.powf(places as f64);
    let digit = pow * val;
    let frac = digit - digit.trunc();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

/// Sprig's `untilStep`.
pub fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return v;
        }
        let mut i = start;
        while i > stop {
            v.push(i);
            i = match i.checked_add(step) {
                Some(x) => x,
                None => break,
            };
        }
        return v;
    }
    if step <= 0 {
        return v;
    }
    let mut i = start;
    while i < stop {
        v.push(i);
        i = match i.checked_add(step) {
            Some(x) => x,
            None => break,
        };
    }
    v
}

/// Sprig's `seq`.
pub fn seq(params: &[i64]) -> String {
    let join = |v: Vec<i64>| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match params.len() {
        1 => {
            let (start, end) = (1, params[0]);
            let inc = if end < start { -1 } else { 1 };
            join(until_step(start, end + inc, inc))
        }
        2 => {
            let (start, end) = (params[0], params[1]);
            let step = if end < start { -1 } else { 1 };
            join(until_step(start, end + step, step))
        }
        3 => {
            let (start, step, end) = (params[0], params[1], params[2]);
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return String::new();
                }
            }
            join(until_step(start, end + inc, step))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(a: f64, b: f64, o: DecOp) -> f64 {
        decimal_op(&Value::Float(a), &[Value::Float(b)], o).unwrap()
    }

    #[test]
    fn decimals() {
        assert_eq!(op(0.1, 0.2, DecOp::Add), 0.3);
        assert_eq!(op(1.0, 0.9, DecOp::Sub), 0.1);
        assert_eq!(op(2.0, 1.5, DecOp::Mul), 3.0);
        assert_eq!(op(1.0, 3.0, DecOp::Div), 0.3333333333333333);
        assert_eq!(op(2.0, 3.0, DecOp::Div), 0.6666666666666667);
        assert!(decimal_op(&Value::Float(1.0), &[Value::Int(0)], DecOp::Div).is_err());
    }

    #[test]
    fn rounding_and_seq() {
        assert_eq!(round(&Value::Float(2.555), 2, 0.5), 2.56);
        assert_eq!(seq(&[5]), "1 2 3 4 5");
        assert_eq!(seq(&[5, 1]), "5 4 3 2 1");
        assert_eq!(seq(&[1, 2, 7]), "1 3 5 7");
        assert_eq!(seq(&[0]), "1 0");
        assert_eq!(until_step(0, 10, 3), vec![0, 3, 6, 9]);
    }
}
