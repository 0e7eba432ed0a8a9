//! The float formatters behind every text we write, against Python on 1,000,000 values
//! each: `repr(float)` (JSON, JSONL, CSV DOUBLE cells, JSON fields, `$meta`, sparse vectors)
//! and numpy's `str(np.float32)` (CSV FLOAT cells).

use bulkwriter_writer::pyjson::{float_repr, write_float32};

use crate::common::run_python;

/// xorshift64*: deterministic bit patterns covering every exponent, subnormals included.
fn bit_patterns(n: usize) -> Vec<u64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(n + 16);
    // Extremes first: zeros, the smallest subnormal, the largest subnormal, the smallest
    // normal, the largest finite, and the repr switch points around 1e-4 and 1e16.
    for v in [
        0.0,
        -0.0,
        5e-324,
        2.225073858507201e-308,
        f64::MIN_POSITIVE,
        f64::MAX,
        -f64::MAX,
        1e-4,
        9.999999999999999e-5,
        1e16,
        9999999999999998.0,
        0.1,
        1.0 / 3.0,
    ] {
        out.push(f64::to_bits(v));
    }
    while out.len() < n {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // Every fourth value is a "human" number (a short decimal), the rest raw bit patterns.
        let v = if out.len() % 4 == 0 {
            (bits % 2_000_000) as f64 / 1000.0 - 1000.0
        } else {
            f64::from_bits(bits)
        };
        if v.is_finite() {
            out.push(v.to_bits());
        }
    }
    out
}

#[test]
fn float_repr_matches_python_on_a_million_doubles() {
    let bits = bit_patterns(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bits.txt");
    let text: String = bits.iter().map(|b| format!("{b:016x}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let python = run_python("float_repr.py", &[input.to_str().unwrap(), "f64"]);
    let mut compared = 0;
    for (b, expected) in bits.iter().zip(python.lines()) {
        let v = f64::from_bits(*b);
        assert_eq!(float_repr(v), expected, "bits {b:016x}");
        compared += 1;
    }
    assert_eq!(compared, bits.len());
}

/// Float32 bit patterns: the extremes (zeros, subnormals, the largest finite, the numpy switch
/// points around 1e-4 and 1e6), then random patterns over every exponent and short decimals.
fn bit_patterns_f32(n: usize) -> Vec<u32> {
    let mut out: Vec<u32> = [
        0.0f32,
        -0.0,
        1e-45,
        1.1754942e-38,
        f32::MIN_POSITIVE,
        f32::MAX,
        -f32::MAX,
        1e-4,
        1.0001e-4,
        9.999999e-5,
        1e16,
        9.999999e15,
        1e6,
        999999.94,
        16777216.0,
        0.1,
        1.1,
        3.4e38,
        1.2345679e17,
    ]
    .iter()
    .map(|v| v.to_bits())
    .collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    while out.len() < n {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let v = if out.len().is_multiple_of(4) {
            ((bits % 2_000_000) as f64 / 1000.0 - 1000.0) as f32
        } else {
            f32::from_bits((bits >> 32) as u32)
        };
        if v.is_finite() {
            out.push(v.to_bits());
        }
    }
    out
}

#[test]
fn float32_cells_match_numpy_on_a_million_floats() {
    let bits = bit_patterns_f32(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bits32.txt");
    let text: String = bits.iter().map(|b| format!("{b:08x}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let python = run_python("float_repr.py", &[input.to_str().unwrap(), "f32"]);
    let mut compared = 0;
    let mut ours = String::new();
    for (b, expected) in bits.iter().zip(python.lines()) {
        ours.clear();
        write_float32(&mut ours, f32::from_bits(*b));
        assert_eq!(ours, expected, "bits {b:08x}");
        compared += 1;
    }
    assert_eq!(compared, bits.len());
}
