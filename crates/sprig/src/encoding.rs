//! Go's `encoding/base64` and `encoding/base32` standard encodings, with Go's error texts.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `base64.StdEncoding.EncodeToString`.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64.StdEncoding.DecodeString`; `Err` is Go's error text (`decodeQuantum` offsets).
pub fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let src = s.as_bytes();
    let err = |i: usize| format!("illegal base64 data at input byte {i}");
    let val = |c: u8| B64.iter().position(|&x| x == c);
    let mut out = Vec::new();
    let mut si = 0usize;
    loop {
        let mut quad = [0u8; 4];
        let mut j = 0usize;
        let mut dlen = 4;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(err(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = val(c) {
                quad[j] = v as u8;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(err(si - 1));
            }
            match j {
                0 | 1 => return Err(err(si - 1)),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(err(src.len()));
                    }
                    if src[si] != b'=' {
                        return Err(err(si - 1));
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                return Err(err(si));
            }
            dlen = j;
            break;
        }
        push_quad(&mut out, &quad, dlen);
        if dlen < 4 {
            return Ok(out);
        }
    }
}

fn push_quad(out: &mut Vec<u8>, q: &[u8; 4], n: usize) {
    let v = ((q[0] as u32) << 18) | ((q[1] as u32) << 12) | ((q[2] as u32) << 6) | q[3] as u32;
    let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    out.extend_from_slice(&bytes[..n.saturating_sub(1)]);
}

/// `base32.StdEncoding.EncodeToString`.
pub fn b32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut b = [0u8; 5];
        b[..chunk.len()].copy_from_slice(chunk);
        let n = b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`; `Err` is Go's error text.
pub fn b32_decode(s: &str) -> Result<Vec<u8>, String> {
    let all: Vec<u8> = s.bytes().filter(|c| *c != b'\r' && *c != b'\n').collect();
    let olen = all.len();
    let err = |i: usize| format!("illegal base32 data at input byte {i}");
    let mut src: &[u8] = &all;
    let mut out = Vec::new();
    let mut end = false;
    while !src.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0usize;
        while j < 8 {
            if src.is_empty() {
                return Err(err(olen - src.len() - j));
            }
            let c = src[0];
            src = &src[1..];
            if c == b'=' && j >= 2 && src.len() < 8 {
                if src.len() + j < 7 {
                    return Err(err(olen));
                }
                for k in 0..(7 - j) {
                    if src.len() > k && src[k] != b'=' {
                        return Err(err(olen - src.len() + k - 1));
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(err(olen - src.len() - 1));
                }
                break;
            }
            match B32.iter().position(|&x| x == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(err(olen - src.len() - 1)),
            }
            j += 1;
        }
        let n = dbuf.iter().fold(0u64, |acc, x| (acc << 5) | *x as u64);
        let nbytes = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        for k in 0..nbytes {
            out.push((n >> (32 - 8 * k)) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(b64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(b64_encode(b"hi"), "aGk=");
        assert_eq!(b64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(
            b64_decode("!!").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
    }

    #[test]
    fn base32() {
        assert_eq!(b32_encode(b"hello"), "NBSWY3DP");
        assert_eq!(b32_encode(b"hi"), "NBUQ====");
        assert_eq!(b32_decode("NBSWY3DP").unwrap(), b"hello");
        assert_eq!(b32_decode("NBUQ====").unwrap(), b"hi");
    }
}
