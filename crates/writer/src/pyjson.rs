//! JSON text exactly as Python's `json.dumps(value)` writes it, which is what pymilvus stores
//! in JSON, `$meta` and sparse-vector columns of NumPy and Parquet files: separators `", "`
//! and `": "`, non-ASCII escaped as lower-case `\uXXXX` (surrogate pairs above U+FFFF), and
//! floats in Python `repr` spelling (`0.1`, `1e-07`, `1e+16`, `1.0`).

use std::fmt::Write;

use serde_json::Value;

/// `json.dumps(value)` with Python's defaults.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends `json.dumps(value)` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                write_float(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal with `ensure_ascii=True` escaping.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in [-4, 16), otherwise as `d.ddde±XX`; integral values keep `.0`.
/// Non-finite values are spelled as `json.dumps` spells them (`NaN`, `Infinity`).
pub fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    let (digits, exp) = shortest_digits(v.abs());
    // Python's rule on the position of the decimal point, decpt = exp + 1.
    let decpt = exp + 1;
    if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(&digits);
        } else {
            let decpt = decpt as usize;
            if digits.len() <= decpt {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', decpt - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..decpt]);
                out.push('.');
                out.push_str(&digits[decpt..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// Splits Rust's `{:e}` output ("1.2345e-7") into its digits and decimal exponent.
fn split_scientific(sci: &str) -> (String, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let digits = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

/// The shortest digits that round-trip to `v` (non-negative, finite), and the decimal
/// exponent of the first digit, chosen as Python's `repr` chooses them.
///
/// Rust's `{:e}` gives the shortest round-trip digits, but when the exact value lies exactly
/// halfway between two shortest candidates it rounds up, while Python (David Gay's dtoa)
/// rounds half to even: 1394865425023536.25 is `...536.2` in Python. That tie is detected
/// from the exact decimal expansion and settled Python's way.
fn shortest_digits(v: f64) -> (String, i32) {
    let (digits, exp) = split_scientific(&format!("{v:e}"));
    if !tie_possible(v) {
        return (digits, exp);
    }
    let n = digits.len();
    // n + 1 correctly rounded digits: a tie needs a 5 right after the n-th digit.
    let (near, _) = split_scientific(&format!("{v:.n$e}"));
    if near.as_bytes().get(n) != Some(&b'5') {
        return (digits, exp);
    }
    // A double's exact expansion has at most 767 significant digits.
    let (exact, exact_exp) = split_scientific(&format!("{v:.800e}"));
    if exact.len() <= n || exact.as_bytes()[n] != b'5' || exact[n + 1..].bytes().any(|d| d != b'0')
    {
        return (digits, exp);
    }
    let lower = exact[..n].to_string();
    let mut candidates = vec![(lower.clone(), exact_exp)];
    if let Some(upper) = increment(&lower) {
        let carried = upper.len() > n;
        let upper = if carried {
            upper[..n].to_string()
        } else {
            upper
        };
        candidates.push((upper, exact_exp + carried as i32));
    }
    let round_trips =
        |(d, e): &(String, i32)| format!("{}.{}e{}", &d[..1], &d[1..], e).parse::<f64>() == Ok(v);
    let even = |(d, _): &(String, i32)| {
        d.bytes()
            .last()
            .is_some_and(|b| (b - b'0').is_multiple_of(2))
    };
    candidates
        .iter()
        .filter(|c| round_trips(c))
        .find(|c| even(c))
        .map(|(d, e)| (d.trim_end_matches('0').to_string(), *e))
        .unwrap_or((digits, exp))
}

/// Whether `v` (finite, non-negative) could lie exactly halfway between two shortest
/// candidates, which needs an exact decimal expansion of at most 18 significant digits. Ruling
/// it out from the bits spares almost every value the extra formatting `shortest_digits` does
/// to settle a tie.
fn tie_possible(v: f64) -> bool {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut mantissa, mut exp2) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if mantissa == 0 {
        return false;
    }
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    exp2 += zeros as i32;
    if exp2 >= 0 {
        // Integers below 2^53 are all representable, so their shortest form is exact.
        return v >= 9_007_199_254_740_992.0;
    }
    // v = mantissa / 2^k = mantissa * 5^k / 10^k: the exact significant digits are those of
    // mantissa * 5^k, with mantissa odd.
    let k = (-exp2) as u32;
    k <= 26
        && 5u128
            .pow(k)
            .checked_mul(mantissa as u128)
            .is_some_and(|x| x < 10u128.pow(18))
}

/// Adds one to a decimal digit string ("129" → "130", "99" → "100").
fn increment(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for i in (0..bytes.len()).rev() {
        if bytes[i] == b'9' {
            bytes[i] = b'0';
        } else {
            bytes[i] += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    bytes.insert(0, b'1');
    String::from_utf8(bytes).ok()
}

/// [`write_float`] into a new string.
pub fn float_repr(v: f64) -> String {
    let mut out = String::new();
    write_float(&mut out, v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_python_repr() {
        let cases = [
            (0.1, "0.1"),
            (1e-7, "1e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (3.4e38, "3.4e+38"),
            (-2.5e-300, "-2.5e-300"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (1.0, "1.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789.125, "123456789.125"),
            (-0.0, "-0.0"),
            (0.10000000149011612, "0.10000000149011612"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1.100000023841858, "1.100000023841858"),
            // An exact tie between two 17-digit candidates: Python rounds half to even.
            (f64::from_bits(0x4313d27da8ac08c1), "1394865425023536.2"),
        ];
        for (v, expected) in cases {
            assert_eq!(float_repr(v), expected, "{v:e}");
        }
    }

    #[test]
    fn dumps_matches_python_json() {
        let v = json!({"a": 1, "b": [1, 2, {"c": null}], "u": "é", "e": "😀\"\n\u{7f}", "f": 2.5, "t": true, "o": {}, "l": []});
        assert_eq!(
            dumps(&v),
            r#"{"a": 1, "b": [1, 2, {"c": null}], "u": "\u00e9", "e": "\ud83d\ude00\"\n\u007f", "f": 2.5, "t": true, "o": {}, "l": []}"#
        );
    }
}
