//! Rows out of Spark's Arrow batches.
//!
//! Spark Connect answers a query in Arrow IPC streams, one per batch. Every
//! query timbre reads answers a single text column, each row one JSON
//! object (`SELECT to_json(struct(*)) … FROM (…)`, see `sql.rs`): Spark's
//! own JSON writer then decides how each type is written, the same as in
//! a JSON file, and the rows are read by the same code whatever the job.
//! So the decoder needs Arrow's IPC reader and its string arrays only.

use std::io::Cursor;

use arrow_array::{Array, LargeStringArray, StringArray, StringViewArray};
use arrow_ipc::reader::StreamReader;

/// The text rows of one Arrow IPC stream holding a single text column
/// (`Utf8`, `LargeUtf8` or `Utf8View`, whichever the cluster sends).
///
/// # Errors
/// The bytes are not an Arrow stream, or not one text column without nulls;
/// the reason says which.
pub fn text_rows(data: &[u8]) -> Result<Vec<String>, String> {
    let reader = StreamReader::try_new(Cursor::new(data), None)
        .map_err(|e| format!("a batch from Spark is not an Arrow stream: {e}"))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| format!("a batch from Spark cannot be read: {e}"))?;
        if batch.num_columns() != 1 {
            return Err(format!(
                "a result has {} columns, not one of text",
                batch.num_columns()
            ));
        }
        let column = batch.column(0);
        if column.null_count() > 0 {
            return Err("a result row is null".into());
        }
        let any = column.as_any();
        if let Some(texts) = any.downcast_ref::<StringArray>() {
            rows.extend(texts.iter().flatten().map(str::to_string));
        } else if let Some(texts) = any.downcast_ref::<LargeStringArray>() {
            rows.extend(texts.iter().flatten().map(str::to_string));
        } else if let Some(texts) = any.downcast_ref::<StringViewArray>() {
            rows.extend(texts.iter().flatten().map(str::to_string));
        } else {
            return Err(format!(
                "a result column is {}, not text",
                column.data_type()
            ));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use arrow_ipc::writer::StreamWriter;

    use super::*;

    /// One Arrow IPC stream of `columns`, as Spark sends a batch.
    fn stream(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut out = Vec::new();
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        drop(writer);
        out
    }

    #[test]
    fn text_columns_of_each_width_come_back_in_order() {
        let rows = [r#"{"a":1}"#, r#"{"b":"x"}"#, "{}"];
        let columns: [ArrayRef; 3] = [
            Arc::new(StringArray::from(rows.to_vec())),
            Arc::new(LargeStringArray::from(rows.to_vec())),
            Arc::new(StringViewArray::from(rows.to_vec())),
        ];
        for column in columns {
            let kind = column.data_type().clone();
            assert_eq!(
                text_rows(&stream(vec![("row", column)])).unwrap(),
                rows,
                "{kind}"
            );
        }
    }

    #[test]
    fn anything_but_one_text_column_without_nulls_is_refused_with_the_reason() {
        let numbers: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let err = text_rows(&stream(vec![("n", numbers)])).unwrap_err();
        assert!(err.contains("Int64, not text"), "{err}");

        let two = vec![
            ("a", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
            ("b", Arc::new(StringArray::from(vec!["y"])) as ArrayRef),
        ];
        let err = text_rows(&stream(two)).unwrap_err();
        assert!(err.contains("2 columns"), "{err}");

        let nulls: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), None]));
        let err = text_rows(&stream(vec![("row", nulls)])).unwrap_err();
        assert!(err.contains("null"), "{err}");

        let err = text_rows(b"not arrow at all").unwrap_err();
        assert!(err.contains("not an Arrow stream"), "{err}");
    }
}
