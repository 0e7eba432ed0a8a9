//! Library errors in the command line's words. The libraries name values and fields; here
//! each error that a flag can fix says which flag, so one table holds every hint.

use bulkwriter_convert::{ConvertError, WriteError};
use bulkwriter_input::InputError;

/// An error and its causes on one line, `outer: inner: ...`, each cause in the CLI's words.
/// Our error types spell out their source in their own message, so a cause whose text is
/// already there is skipped.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cli_text(cause).unwrap_or_else(|| cause.to_string());
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// The CLI's text of a library error that a flag can fix; `None` keeps its own.
fn cli_text(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(error) = cause.downcast_ref::<ConvertError>() {
        return convert_text(error);
    }
    // The cause of a partial run is boxed.
    if let Some(error) = cause.downcast_ref::<Box<ConvertError>>() {
        return convert_text(error);
    }
    if let Some(error) = cause.downcast_ref::<InputError>() {
        return input_text(error);
    }
    if let Some(error) = cause.downcast_ref::<WriteError>() {
        return write_text(error);
    }
    None
}

fn convert_text(error: &ConvertError) -> Option<String> {
    Some(match error {
        ConvertError::Input(e) | ConvertError::NoVectorField(e) => return input_text(e),
        ConvertError::Write(e) => return write_text(e),
        ConvertError::WriteInput { file, source } => format!("{file}: {}", write_text(source)?),
        ConvertError::UnknownColumn { file, column } => format!(
            "{file}: the input column '{column}' matches no field of the schema and the dynamic field is off: rename it with --map {column}=FIELD, or drop such columns with --ignore-unknown"
        ),
        ConvertError::UnknownStructKey { .. } => {
            format!("{error}: drop such keys with --ignore-unknown")
        }
        ConvertError::TooManyRejected { file, max, last } => {
            format!("{file}: more than --max-errors {max} rows were rejected; the last: {last}")
        }
        ConvertError::EmptyInput { .. } => {
            format!("{error}; pass --allow-empty if an empty input is expected")
        }
        ConvertError::SkipWithoutRejectFile => "--on-error skip needs --reject-file PATH, so that every skipped row is kept with its reason".into(),
        ConvertError::ResumeFolder { data_path, reason } => format!("--resume {data_path}: {reason}"),
        ConvertError::ResumeInputs { .. } => format!("{error}: resume with the same --input values"),
        ConvertError::ResumeSchema => format!("{error}: resume with the same --schema"),
        ConvertError::Interrupted {
            data_url,
            resumable: true,
            ..
        } => format!("{error}; to continue, run the same command with --resume {data_url}"),
        ConvertError::Partial { data_url, .. } => format!(
            "{error}; after fixing the cause, run the same command with --resume {data_url} to continue"
        ),
        _ => return None,
    })
}

fn input_text(error: &InputError) -> Option<String> {
    Some(match error {
        InputError::NoInput => {
            "no input: give --input FILE (several, globs and - for stdin are accepted)".into()
        }
        InputError::BadPattern { .. } | InputError::NoMatch { .. } => format!("--input {error}"),
        InputError::UnknownFormat { .. } => format!("{error}: pass --input-format"),
        InputError::LooksLikeJsonl { .. } => {
            format!("{error}: if so, pass --input-format jsonl")
        }
        InputError::StdinFormat { given: None } => {
            "standard input (-) needs --input-format jsonl, json, csv or parquet".into()
        }
        InputError::NoVectorField => {
            "vector files (.fvecs, .bvecs, .ivecs, .npy) need --vector-field FIELD".into()
        }
        InputError::VectorField {
            file,
            field,
            reason,
        } => format!("{file}: --vector-field {field}: {reason}"),
        _ => return None,
    })
}

fn write_text(error: &WriteError) -> Option<String> {
    match error {
        WriteError::ResumeOptions {
            data_path,
            recorded,
            given,
        } => Some(format!(
            "cannot resume {data_path}: the run wrote {recorded}; resume with the same --format, --chunk-size and CSV options (given: {given})"
        )),
        // A byte column given to a float vector field (bulkwriter_schema::arrow_json).
        WriteError::Column { field, message } if message.contains("give the bytes' layout") => {
            Some(format!(
                "{error}: pass --vector-bytes {field}=f32le (or f16le, bf16le) for float32 (half, bfloat16) values"
            ))
        }
        _ => None,
    }
}
