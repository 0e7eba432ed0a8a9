//! FLOAT_VECTOR elements of JSON text read straight into `f32`, eight digits at a time.
//!
//! The row path reads a JSON number as the nearest `f64` (serde_json, `float_roundtrip`) and
//! casts it to `f32`. [`decimal_f32`] gives that same `f32` for the form vector dumps use,
//! `-?D.DDDD...` with at most 19 digits and no exponent, without finding the nearest `f64`
//! first; anything else (and the rare literal it cannot settle) is left to the caller's
//! general path.
//!
//! Why the result is the row path's: the literal's exact value `d` is `m × 10^-k` with `m`
//! the digits as an integer. `a = (m as f64) × 10^-k` (with `10^-k` as the nearest `f64`) is
//! within three roundings, under 2^-51 relative, of `d`. `lo` and `hi`, 16 steps of the `f64`
//! bit pattern below and above `a`, are at least 2^-50 relative away from it, so
//! `lo < d < hi`. Rounding to nearest is monotonic and `lo` and `hi` are `f64`s, so the
//! nearest `f64` to `d` lies in `[lo, hi]`, and its nearest `f32` lies between those of `lo`
//! and `hi`. Those two are equal unless a middle of two `f32`s (the 29 low bits of an `f64`
//! that an `f32` drops being `1000...0`) lies between them; then `d` is too close to it to
//! say cheaply, and the general path decides. Otherwise the answer is `a`'s `f32`.

/// `10^-k` as the nearest `f64`, for `k` in 0..=19.
const NEGATIVE_POWERS_OF_TEN: [f64; 20] = [
    1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14,
    1e-15, 1e-16, 1e-17, 1e-18, 1e-19,
];

const POWERS_OF_TEN: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Bytes the fast path reads past the literal's start: a sign, up to 7 integer digits, the
/// point, three words of fraction digits and the byte after them, rounded up.
const LOOKAHEAD: usize = 40;

/// The eight bytes at `at`, first byte lowest.
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut eight = [0; 8];
    eight.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(eight)
}

/// How many of the word's bytes, from its first, are ASCII digits (0 to 8). A byte below
/// `'0'` borrows from the bytes after it, and one above `'9'` carries into them, but only
/// the bytes after the first non-digit are changed, and they are not counted.
fn leading_digits(word: u64) -> u32 {
    let below = word.wrapping_sub(0x3030_3030_3030_3030);
    let above = word.wrapping_add(0x4646_4646_4646_4646);
    ((below | above) & 0x8080_8080_8080_8080).trailing_zeros() / 8
}

/// The value of the word's first `n` bytes as decimal digits (`n` at most 8, each of those
/// bytes a digit): the digits are shifted to the top with zeros before them, then summed in
/// pairs, fours and eights.
fn digits_value(word: u64, n: u32) -> u64 {
    let digits = word.wrapping_sub(0x3030_3030_3030_3030);
    let x = digits.checked_shl(8 * (8 - n)).unwrap_or(0);
    let pairs = x.wrapping_mul(10).wrapping_add(x >> 8);
    let fours = (pairs & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
    let eights = ((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
    fours.wrapping_add(eights) >> 32
}

/// The JSON number literal at the start of `bytes` as the `f32` nearest its nearest `f64`,
/// and the literal's length; `None` when the literal is not of the form this reads or its
/// value is too close to the middle of two `f32`s (the caller's general path decides).
#[inline]
pub(crate) fn decimal_f32(bytes: &[u8]) -> Option<(f32, usize)> {
    if bytes.len() < LOOKAHEAD {
        return None;
    }
    let negative = bytes[0] == b'-';
    let mut at = negative as usize;
    let whole_word = word(bytes, at);
    let whole = leading_digits(whole_word);
    // JSON: a digit first, and no leading zero before another digit.
    if whole == 0 || whole == 8 || (whole > 1 && bytes[at] == b'0') {
        return None;
    }
    at += whole as usize;
    if bytes[at] != b'.' {
        return None;
    }
    at += 1;
    let words = [word(bytes, at), word(bytes, at + 8), word(bytes, at + 16)];
    let first = leading_digits(words[0]);
    let second = if first == 8 {
        leading_digits(words[1])
    } else {
        0
    };
    let third = if second == 8 {
        leading_digits(words[2])
    } else {
        0
    };
    let fraction = first + second + third;
    if fraction == 0 || third == 8 || whole + fraction > 19 {
        return None;
    }
    at += fraction as usize;
    if matches!(bytes[at], b'e' | b'E') {
        return None;
    }
    // At most 19 digits: no step overflows.
    let mut digits = digits_value(whole_word, whole);
    for (word, n) in words.into_iter().zip([first, second, third]) {
        digits = digits * POWERS_OF_TEN[n as usize] + digits_value(word, n);
    }
    // Zero needs no case of its own: its product is 0.0, far from any middle.
    let digits = i64::try_from(digits).ok()?;
    let near = digits as f64 * NEGATIVE_POWERS_OF_TEN[fraction as usize];
    // The f32s of the bit patterns 16 steps either side differ only if a middle of two f32s
    // lies between them: where the 29 bits an f32 drops are 1 followed by zeros.
    let dropped = near.to_bits() & ((1 << 29) - 1);
    if dropped.abs_diff(1 << 28) <= 16 {
        return None;
    }
    let value = near as f32;
    Some((if negative { -value } else { value }, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the row path makes of a literal: serde_json's nearest f64, cast.
    fn row_path(literal: &str) -> f32 {
        serde_json::from_str::<f64>(literal).unwrap() as f32
    }

    /// Checks `literal` (followed by more of a line) against the row path; says whether the
    /// fast path took it.
    fn check(literal: &str) -> bool {
        let line = format!("{literal}, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]}}");
        let Some((value, len)) = decimal_f32(line.as_bytes()) else {
            return false;
        };
        assert_eq!(
            len,
            literal.len(),
            "{literal}: the whole literal and no more"
        );
        assert_eq!(
            value.to_bits(),
            row_path(literal).to_bits(),
            "{literal}: {value} against {}",
            row_path(literal)
        );
        true
    }

    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn every_float32_as_python_prints_it_reads_back_as_the_row_path_reads_it() {
        // Python's repr of the double a float32 widens to: its shortest round-trip digits,
        // which Rust's Display prints too (in fixed notation).
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut taken = 0;
        for _ in 0..300_000 {
            let bits = xorshift(&mut seed) as u32;
            let value = f32::from_bits(bits);
            if !value.is_finite() {
                continue;
            }
            let literal = format!("{}", value as f64);
            let literal = if literal.contains('.') {
                literal
            } else {
                format!("{literal}.0")
            };
            let taken_here = check(&literal);
            taken += taken_here as usize;
            // Embedding values fall in this range: every one of at most 19 digits is taken.
            let digits = literal.trim_start_matches('-').len() - 1;
            if (1e-4..1e4).contains(&value.abs()) && digits <= 19 {
                assert!(taken_here, "{literal} should be taken");
            }
        }
        assert!(taken > 20_000, "only {taken} taken");
    }

    #[test]
    fn literals_next_to_the_middle_of_two_float32s_are_left_to_the_general_path() {
        // The exact middle of two neighbouring float32s, and literals a unit of their last
        // digit away from it: the nearest f64 decides which float32 they become.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut left = 0;
        for _ in 0..20_000 {
            let low = f32::from_bits((xorshift(&mut seed) as u32 % 0x3f80_0000) | 0x3c00_0000);
            let high = f32::from_bits(low.to_bits() + 1);
            let middle = (low as f64 + high as f64) / 2.0;
            for digits in [9, 12, 16, 17, 18] {
                let text = format!("{middle:.digits$}");
                for literal in [text.clone(), bump(&text, 1), bump(&text, -1)] {
                    left += !check(&literal) as usize;
                }
            }
        }
        assert!(
            left > 1_000,
            "only {left} literals were left to the general path"
        );
    }

    /// `text` with its last digit moved by `by` (no carry: a 9 or 0 stays).
    fn bump(text: &str, by: i8) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let last = bytes.last_mut().unwrap();
        let digit = (*last - b'0') as i8 + by;
        if (0..=9).contains(&digit) {
            *last = b'0' + digit as u8;
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn random_digit_strings_read_as_the_row_path_reads_them() {
        let mut seed = 0x1234_5678_9abc_def1_u64;
        let mut taken = 0;
        for _ in 0..200_000 {
            let mut literal = String::new();
            if xorshift(&mut seed).is_multiple_of(2) {
                literal.push('-');
            }
            let whole = 1 + xorshift(&mut seed) % 9;
            let fraction = 1 + xorshift(&mut seed) % 22;
            literal.push(char::from(b'1' + (xorshift(&mut seed) % 9) as u8));
            for _ in 1..whole {
                literal.push(char::from(b'0' + (xorshift(&mut seed) % 10) as u8));
            }
            literal.push('.');
            for _ in 0..fraction {
                literal.push(char::from(b'0' + (xorshift(&mut seed) % 10) as u8));
            }
            taken += check(&literal) as usize;
            taken += check(&format!(
                "0.{}",
                &literal[literal.len() - fraction as usize..]
            )) as usize;
        }
        assert!(taken > 150_000, "only {taken} of 400000 taken");
        for literal in ["0.0", "-0.0", "0.000000", "7.0", "-1.5", "0.1", "1234567.0"] {
            assert!(check(literal), "{literal}");
        }
    }

    #[test]
    fn other_forms_are_left_to_the_general_path() {
        for literal in [
            "1",
            "-3",
            "01.5",
            "-01.5",
            "00.5",
            ".5",
            "-.5",
            "+1.5",
            "1.",
            "1.e5",
            "1.5e3",
            "1.5E-3",
            "1.5e",
            "-",
            "NaN",
            "Infinity",
            "0x1.8",
            "12345678.5",
            // 20 digits.
            "1.2345678901234567890",
            "0.12345678901234567890",
        ] {
            let line = format!("{literal}, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]}}");
            assert_eq!(decimal_f32(line.as_bytes()), None, "{literal}");
        }
        // Too near the end of the line to read ahead.
        assert_eq!(decimal_f32(b"0.5]}"), None);
    }
}
