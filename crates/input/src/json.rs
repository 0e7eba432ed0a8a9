//! JSON rows, streamed: a JSON list (or `{"rows": [...]}`) is read element by element with a
//! serde visitor, so an input file is never loaded whole.

use std::cell::RefCell;
use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use serde_json::value::RawValue;

use crate::chunk::exact_members;
use crate::{Chunk, InputError, Raw, ReadOptions, RowPosition, SourceRow, Visit, rename_keys};

/// Reads a JSON list of rows (or `{"rows": [...]}`) element by element.
pub(crate) fn read(
    reader: impl Read,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let result = read_json(reader, |value, text, position| {
        options.start_row();
        let flow = visit(Chunk::Row(SourceRow {
            exact: exact_members(&value, text, &options.mapping),
            value: rename_keys(value, &options.mapping),
            position,
            raw: Raw::Value,
        }));
        if flow.is_break() { Err(()) } else { Ok(()) }
    });
    match result {
        Ok(_) | Err(ReadError::Row(())) => Ok(()),
        Err(ReadError::Syntax(message)) => match message.strip_prefix(NOT_ROWS) {
            Some(reason) => Err(InputError::LooksLikeJsonl {
                file: String::new(),
                reason: reason.trim_start().to_string(),
            }),
            None => Err(InputError::read(message)),
        },
    }
}

/// Marks the syntax error of a root object that is not `{"rows": [...]}`.
const NOT_ROWS: &str = "[not rows]";

/// A reading failure, or the callback's own error.
#[derive(Debug)]
enum ReadError<E> {
    /// The input is not valid JSON / JSONL.
    Syntax(String),
    /// The callback stopped the read.
    Row(E),
}

/// Calls `on_row` for every element of a JSON list, or of the list under `"rows"`, with the
/// element's text (which keeps the digits a parse may lose).
fn read_json<R: Read, E>(
    reader: R,
    on_row: impl FnMut(Value, &str, RowPosition) -> Result<(), E>,
) -> Result<u64, ReadError<E>> {
    let state = RowsState {
        on_row: RefCell::new(Box::new(on_row)),
        stopped: RefCell::new(None),
        rows: RefCell::new(0),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = (&mut de)
        .deserialize_any(RootVisitor(&state))
        .and_then(|()| de.end());
    if let Some(e) = state.stopped.into_inner() {
        return Err(ReadError::Row(e));
    }
    result.map_err(|e| ReadError::Syntax(e.to_string()))?;
    Ok(state.rows.into_inner())
}

type RowCallback<'a, E> = Box<dyn FnMut(Value, &str, RowPosition) -> Result<(), E> + 'a>;

struct RowsState<'a, E> {
    on_row: RefCell<RowCallback<'a, E>>,
    stopped: RefCell<Option<E>>,
    rows: RefCell<u64>,
}

struct RootVisitor<'s, 'a, E>(&'s RowsState<'a, E>);

impl<'de, E> Visitor<'de> for RootVisitor<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of rows or an object {\"rows\": [...]}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        RowsSeed(self.0).visit_rows(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key.eq_ignore_ascii_case("rows") && !found {
                map.next_value_seed(RowsSeed(self.0))?;
                found = true;
            } else {
                return Err(de::Error::custom(format!(
                    "{NOT_ROWS} the root object has the key '{key}', not 'rows'"
                )));
            }
        }
        if !found {
            return Err(de::Error::custom("the object has no \"rows\" list"));
        }
        Ok(())
    }
}

struct RowsSeed<'s, 'a, E>(&'s RowsState<'a, E>);

impl<'de, E> DeserializeSeed<'de> for RowsSeed<'_, '_, E> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, E> Visitor<'de> for RowsSeed<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.visit_rows(seq)
    }
}

impl<E> RowsSeed<'_, '_, E> {
    fn visit_rows<'de, A: SeqAccess<'de>>(&self, mut seq: A) -> Result<(), A::Error> {
        while let Some(text) = seq.next_element::<Box<RawValue>>()? {
            let row: Value = serde_json::from_str(text.get()).map_err(de::Error::custom)?;
            let mut rows = self.0.rows.borrow_mut();
            *rows += 1;
            let position = RowPosition {
                row: *rows,
                line: None,
            };
            drop(rows);
            if let Err(e) = (self.0.on_row.borrow_mut())(row, text.get(), position) {
                *self.0.stopped.borrow_mut() = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> Result<Vec<Value>, String> {
        let mut rows = Vec::new();
        read_json::<_, ()>(text.as_bytes(), |v, _, _| {
            rows.push(v);
            Ok(())
        })
        .map_err(|e| match e {
            ReadError::Syntax(s) => s,
            ReadError::Row(()) => "row".into(),
        })?;
        Ok(rows)
    }

    #[test]
    fn json_lists_and_rows_objects_stream() {
        assert_eq!(collect(r#"[{"a": 1}, {"a": 2}]"#).unwrap().len(), 2);
        assert_eq!(collect(r#"{"rows": [{"a": 1}]}"#).unwrap().len(), 1);
        assert!(
            collect(r#"{"data": []}"#)
                .unwrap_err()
                .contains("the root object has the key 'data', not 'rows'")
        );
        assert!(collect(r#"[{"a": 1}"#).is_err());
        assert!(collect(r#"[] x"#).is_err());
    }

    /// Input numbers must reach the writer as the doubles they spell, which Rust's own
    /// (correctly rounded) parser gives; serde_json's default "best effort" parser is off by
    /// one ulp for some 17-digit literals, hence its `float_roundtrip` feature.
    #[test]
    fn numbers_parse_to_the_nearest_double() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut text = String::from("[");
        let mut literals = Vec::new();
        for i in 0..20_000 {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
            // 17 significant digits with a varying exponent.
            let literal = format!(
                "{}.{:016}e{}",
                1 + bits % 9,
                (bits >> 8) % 10_000_000_000_000_000,
                (bits % 600) as i64 - 300
            );
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!("{{\"v\": {literal}}}"));
            literals.push(literal);
        }
        text.push(']');
        let rows = collect(&text).unwrap();
        for (row, literal) in rows.iter().zip(&literals) {
            let want: f64 = literal.parse().unwrap();
            assert_eq!(row["v"].as_f64(), Some(want), "{literal}");
        }
    }
}
