//! Parsing one numeric field of a data row, with an error that names file, line and column.

use std::path::Path;

use crate::error::{Error, Result};

/// Parse a finite number from a CSV field; `column` is the 1-based column for messages.
pub(super) fn parse_finite(field: &[u8], path: &Path, line: u64, column: usize) -> Result<f32> {
    let text = std::str::from_utf8(field).unwrap_or("").trim();
    match text.parse::<f32>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(Error::bad_row(
            path,
            line,
            format!("column {column} is {text:?}, not a finite number"),
            "interpolate or drop the non-finite samples before running pim",
        )),
        Err(_) => Err(Error::bad_row(
            path,
            line,
            format!("column {column} is {:?}, not a number", String::from_utf8_lossy(field)),
            "repair or re-extract the file",
        )),
    }
}
