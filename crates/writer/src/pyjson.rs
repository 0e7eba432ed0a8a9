//! JSON text exactly as Python's `json.dumps(value)` writes it, which is what pymilvus stores
//! in JSON, `$meta` and sparse-vector columns of NumPy and Parquet files and in JSON, JSONL and
//! CSV row files: separators `", "` and `": "` (or `indent=2`), non-ASCII escaped as
//! lower-case `\uXXXX` (surrogate pairs above U+FFFF), and floats in Python `repr` spelling
//! (`0.1`, `1e-07`, `1e+16`, `1.0`); plus numpy's float32 spelling for CSV FLOAT cells.

use std::fmt::Write;

use bulkwriter_schema::rules::object_members;
use serde_json::Value;
use serde_json::value::RawValue;

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

/// Appends `json.dumps(value, indent=2)` as it appears `level` levels deep: every list item
/// and object member on its own line, indented two spaces a level; `[]` and `{}` when empty.
pub fn write_value_indented(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                new_line(out, level + 1);
                write_value_indented(out, item, level + 1);
            }
            new_line(out, level);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                new_line(out, level + 1);
                write_str(out, key);
                out.push_str(": ");
                write_value_indented(out, item, level + 1);
            }
            new_line(out, level);
            out.push('}');
        }
        other => write_value(out, other),
    }
}

/// Starts a new line indented for `level` levels, as `json.dumps(indent=2)` does.
fn new_line(out: &mut String, level: usize) {
    // Pushed as slices: a vector element is one line, so this runs once per float.
    const SPACES: &str = "                                ";
    out.push('\n');
    let mut width = 2 * level;
    while width > 0 {
        let step = width.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        width -= step;
    }
}

/// Appends a list of float32 values as `json.dumps` writes the doubles they widen to, or as
/// [`write_value_indented`] writes them `level` levels deep when `indent` is `Some(level)`.
pub fn write_floats(out: &mut String, values: &[f32], indent: Option<usize>) {
    if values.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        match indent {
            None if i > 0 => out.push_str(", "),
            None => {}
            Some(level) => {
                if i > 0 {
                    out.push(',');
                }
                new_line(out, level + 1);
            }
        }
        write_float(out, *v as f64);
    }
    if let Some(level) = indent {
        new_line(out, level);
    }
    out.push(']');
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

/// A JSON value as Python's `json.loads` reads it: integers keep every digit (a serde_json
/// [`Value`] holds an integer beyond 64 bits as a float), and an object's repeated key keeps
/// its first place and its last value, as a `dict` does.
enum PyValue {
    /// null, a boolean, a string or a float.
    Plain(Value),
    /// An integer's digits, `-0` already made `0`.
    Int(String),
    Array(Vec<PyValue>),
    Object(Vec<(String, PyValue)>),
}

/// `json.dumps(json.loads(text))`, or with `indent` the same as [`write_value_indented`] at
/// that level: how pymilvus writes a JSON value that is given, or was read, as JSON text.
/// Integers of any size keep their digits and `-0` becomes `0`, as in Python; the caller
/// passes text that is valid JSON (it was parsed before), anything else is written as a
/// string.
pub fn write_text(out: &mut String, text: &str, indent: Option<usize>) {
    match parse_text(text) {
        Ok(value) => write_py(out, &value, indent),
        Err(_) => write_str(out, text),
    }
}

/// [`write_text`] without indent, into a new string.
pub fn text_dumps(text: &str) -> String {
    let mut out = String::new();
    write_text(&mut out, text, None);
    out
}

fn parse_text(text: &str) -> serde_json::Result<PyValue> {
    let text = text.trim_matches([' ', '\t', '\n', '\r']);
    match text.as_bytes().first() {
        Some(b'{') => {
            let mut members: Vec<(String, PyValue)> = Vec::new();
            for (key, raw) in object_members(text)? {
                let value = parse_text(raw.get())?;
                match members.iter_mut().find(|(k, _)| *k == key) {
                    Some(member) => member.1 = value,
                    None => members.push((key, value)),
                }
            }
            Ok(PyValue::Object(members))
        }
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(text)?
            .into_iter()
            .map(|raw| parse_text(raw.get()))
            .collect::<serde_json::Result<_>>()
            .map(PyValue::Array),
        Some(b'-' | b'0'..=b'9') if !text.contains(['.', 'e', 'E']) => {
            // Validates the digits; JSON allows no leading zeros, so only `-0` needs care.
            serde_json::from_str::<&RawValue>(text)?;
            let zero = text.trim_start_matches('-').bytes().all(|b| b == b'0');
            Ok(PyValue::Int(if zero { "0".into() } else { text.into() }))
        }
        _ => serde_json::from_str(text).map(PyValue::Plain),
    }
}

fn write_py(out: &mut String, value: &PyValue, indent: Option<usize>) {
    let newline = |out: &mut String, level: Option<usize>| {
        if let Some(level) = level {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', 2 * level));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    let inner = indent.map(|level| level + 1);
    match value {
        PyValue::Plain(value) => match indent {
            Some(level) => write_value_indented(out, value, level),
            None => write_value(out, value),
        },
        PyValue::Int(digits) => out.push_str(digits),
        PyValue::Array(items) if items.is_empty() => out.push_str("[]"),
        PyValue::Object(members) if members.is_empty() => out.push_str("{}"),
        PyValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, inner);
                write_py(out, item, inner);
            }
            newline(out, indent);
            out.push(']');
        }
        PyValue::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, inner);
                write_str(out, key);
                out.push_str(": ");
                write_py(out, item, inner);
            }
            newline(out, indent);
            out.push('}');
        }
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in [-4, 16), otherwise as `d.ddde±XX`; integral values keep `.0`.
/// Non-finite values are spelled as `json.dumps` spells them (`NaN`, `Infinity`).
pub fn write_float(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str(non_finite(v));
        return;
    }
    let magnitude = v.abs();
    let fixed = magnitude == 0.0 || (1e-4..1e16).contains(&magnitude);
    let mut buffer = zmij::Buffer::new();
    write_shortest(out, buffer.format_finite(v), fixed);
}

/// numpy's `str(np.float32(v))`, which pandas writes for FLOAT columns of a CSV file: the
/// shortest digits that round-trip through float32, in fixed notation when
/// `1e-4 <= |v| < 1e6` and otherwise scientific. The upper bound is numpy's float32 cutoff
/// (10 to the power of its 6-digit precision: `999999.94`, then `1e+06`); the lower bound is
/// compared as a double, so float32 `0.0001`, just below 1e-4, prints as `1e-04`.
pub fn write_float32(out: &mut String, v: f32) {
    if !v.is_finite() {
        out.push_str(match (v.is_nan(), v > 0.0) {
            (true, _) => "nan",
            (false, true) => "inf",
            (false, false) => "-inf",
        });
        return;
    }
    let magnitude = (v as f64).abs();
    let fixed = magnitude == 0.0 || (1e-4..1e6).contains(&magnitude);
    let mut buffer = zmij::Buffer::new();
    write_shortest(out, buffer.format_finite(v), fixed);
}

/// Writes zmij's shortest round-trip text of a finite float in fixed or scientific notation.
///
/// zmij picks, among the shortest digit strings that round-trip, the one nearest the exact
/// value and settles exact ties to the even digit, as Python's `repr` (David Gay's dtoa) and
/// numpy's Dragon4 do; only the layout can differ. When zmij already used the wanted notation
/// its text is kept (fixed notation is spelled alike; a scientific exponent gets Python's two
/// digits), otherwise the digits are laid out again.
fn write_shortest(out: &mut String, text: &str, fixed: bool) {
    match (exponent_at(text), fixed) {
        (None, true) => out.push_str(text),
        (Some(e), false) => {
            out.push_str(&text[..=e]);
            let exponent = &text[e + 1..];
            let (sign, digits) = match exponent.as_bytes().first() {
                Some(b'-') => ('-', &exponent[1..]),
                Some(b'+') => ('+', &exponent[1..]),
                _ => ('+', exponent),
            };
            out.push(sign);
            if digits.len() < 2 {
                out.push('0');
            }
            out.push_str(digits);
        }
        _ => Digits::parse(text).write(out, fixed),
    }
}

/// Where zmij's text has its exponent marker. The exponent is at most four bytes after it
/// (`e-7`, `e+16`, `e-324`), so only the last five bytes are looked at: this runs once per
/// float printed, and a general search costs more than the rest of the layout.
fn exponent_at(text: &str) -> Option<usize> {
    let start = text.len().saturating_sub(5);
    let tail = &text.as_bytes()[start..];
    tail.iter().position(|&b| b == b'e').map(|i| start + i)
}

fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// A finite float as its shortest round-trip decimal digits (no leading or trailing zeros,
/// except a lone `0`) and the decimal exponent of the first digit, read back from zmij's text
/// to lay them out in the other notation.
struct Digits {
    negative: bool,
    digits: [u8; 24],
    len: usize,
    exp: i32,
}

impl Digits {
    /// Reads zmij's output, which is either fixed (`-123.45`, `0.00012`) or scientific
    /// (`1.2345e+19`, `1e-7`).
    fn parse(text: &str) -> Digits {
        let bytes = text.as_bytes();
        let negative = bytes.first() == Some(&b'-');
        let body = &bytes[negative as usize..];
        let (mantissa, exp_part) = match body.iter().position(|b| *b == b'e') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let mut out = Digits {
            negative,
            digits: [0; 24],
            len: 0,
            exp: 0,
        };
        // Position of the decimal point relative to the mantissa's first character.
        let point = mantissa
            .iter()
            .position(|b| *b == b'.')
            .unwrap_or(mantissa.len()) as i32;
        let mut first_digit: Option<i32> = None;
        let mut seen = 0i32;
        for &b in mantissa {
            if b == b'.' {
                continue;
            }
            seen += 1;
            if first_digit.is_none() {
                if b == b'0' {
                    continue;
                }
                first_digit = Some(seen - 1);
            }
            if out.len < out.digits.len() {
                out.digits[out.len] = b;
                out.len += 1;
            }
        }
        while out.len > 1 && out.digits[out.len - 1] == b'0' {
            out.len -= 1;
        }
        let Some(first) = first_digit else {
            out.digits[0] = b'0';
            out.len = 1;
            return out;
        };
        let exp10: i32 = exp_part
            .and_then(|e| std::str::from_utf8(e).ok())
            .and_then(|e| e.trim_start_matches('+').parse().ok())
            .unwrap_or(0);
        out.exp = point - 1 - first + exp10;
        out
    }

    /// Writes the digits in fixed notation (`123.45`, `0.001`, `100.0`) or scientific
    /// notation with at least two exponent digits (`1e-07`, `1.5e+300`).
    fn write(&self, out: &mut String, fixed: bool) {
        let digits = std::str::from_utf8(&self.digits[..self.len]).unwrap_or("0");
        if self.negative {
            out.push('-');
        }
        if fixed {
            let decpt = self.exp + 1;
            if decpt <= 0 {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', (-decpt) as usize));
                out.push_str(digits);
            } else {
                let decpt = decpt as usize;
                if digits.len() <= decpt {
                    out.push_str(digits);
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
            let _ = write!(
                out,
                "e{}{:02}",
                if self.exp < 0 { '-' } else { '+' },
                self.exp.abs()
            );
        }
    }
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
    fn text_is_written_as_python_reads_it() {
        // Expected strings are what Python 3.11 prints for json.dumps(json.loads(text)).
        let cases = [
            (
                r#"{"a": 1180591620717411303425}"#,
                r#"{"a": 1180591620717411303425}"#,
            ),
            (
                r#"[-0, -0.0, 0, -12345678901234567890123]"#,
                "[0, -0.0, 0, -12345678901234567890123]",
            ),
            (r#"{"k":1,"j":[],"k":-0}"#, r#"{"k": 0, "j": []}"#),
            (
                r#" {"x" : {"é": [true, null, 1.5e300, 1E2]}} "#,
                r#"{"x": {"\u00e9": [true, null, 1.5e+300, 100.0]}}"#,
            ),
            ("[]", "[]"),
            ("{}", "{}"),
        ];
        for (text, expected) in cases {
            assert_eq!(text_dumps(text), expected, "{text}");
        }
        let mut indented = String::new();
        write_text(
            &mut indented,
            r#"{"a": [18446744073709551616, {}], "b": -0}"#,
            Some(1),
        );
        assert_eq!(
            indented,
            "{\n    \"a\": [\n      18446744073709551616,\n      {}\n    ],\n    \"b\": 0\n  }"
        );
        let value = json!({"a": [1, {}], "b": 0});
        let mut expected = String::new();
        write_value_indented(&mut expected, &value, 1);
        assert_eq!(indented.replace("18446744073709551616", "1"), expected);
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
