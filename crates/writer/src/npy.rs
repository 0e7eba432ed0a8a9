//! NPY files as `numpy.save` writes them (format 1.0), byte for byte.
//!
//! The header is the dict repr `{'descr': ..., 'fortran_order': False, 'shape': (...), }`,
//! followed by numpy's 21-digit growth room for axis 0, space padding so that the data starts
//! on a 64-byte boundary, and `\n` (numpy's `_write_array_header`). Arrays are always C order:
//! Milvus ignores `fortran_order` and would silently transpose anything else.

/// numpy's `ARRAY_ALIGN`.
const ARRAY_ALIGN: usize = 64;
/// numpy's `GROWTH_AXIS_MAX_DIGITS`.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// The magic string and version 1.0.
const MAGIC_V1: &[u8] = b"\x93NUMPY\x01\x00";
/// Version 2.0, used only when a header does not fit in 65535 bytes.
const MAGIC_V2: &[u8] = b"\x93NUMPY\x02\x00";

/// The full header (magic, length and padded dict) of a C-order array.
pub fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape_repr = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_repr}, }}");
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits),
        ));
    }
    let text_len = dict.len() + 1; // + '\n'
    let (magic, len_bytes) = if MAGIC_V1.len() + 2 + text_len <= u16::MAX as usize {
        (MAGIC_V1, 2)
    } else {
        (MAGIC_V2, 4)
    };
    let pad = ARRAY_ALIGN - (magic.len() + len_bytes + text_len) % ARRAY_ALIGN;
    let pad = if pad == ARRAY_ALIGN { 0 } else { pad };
    let header_len = text_len + pad;
    let mut out = Vec::with_capacity(magic.len() + len_bytes + header_len);
    out.extend_from_slice(magic);
    if len_bytes == 2 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_numpys() {
        // np.save of np.array(["abc", "héllo wörld", "x"]) starts with these 128 bytes.
        let h = header("<U11", &[3]);
        assert_eq!(h.len(), 128);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(text.starts_with("{'descr': '<U11', 'fortran_order': False, 'shape': (3,), }"));
        assert_eq!(&h[8..10], &118u16.to_le_bytes());
        assert!(h.ends_with(b" \n"));
        let h2 = header("<f4", &[3, 768]);
        assert_eq!(h2.len() % 64, 0);
        assert!(String::from_utf8_lossy(&h2).contains("'shape': (3, 768), }"));
    }
}
