//! Rows into Parquet files, with the parquet crate's own writer (no Arrow:
//! the lake's tables are narrow and their rows are built one by one, and
//! Arrow would add most of a build's time for nothing this needs).
//!
//! A [`Rows`] batch holds one table's rows column by column, the way
//! Parquet stores them: the values present, and per row a definition
//! level (0 = null) and, for lists, repetition levels.

use std::sync::Arc;

use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::table::{ColumnType, Table};

/// One value of a row, in the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Str(&'a str),
    I32(i32),
    I64(i64),
    F64(f64),
    Bool(bool),
    List(&'a [String]),
}

/// One column's data so far.
#[derive(Debug, Clone)]
enum Data {
    Bytes(Vec<ByteArray>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
}

#[derive(Debug, Clone)]
struct ColumnData {
    data: Data,
    def: Vec<i16>,
    /// Repetition levels, for lists.
    rep: Vec<i16>,
}

/// Rows of one table, ready to become a Parquet file.
#[derive(Debug, Clone)]
pub struct Rows {
    table: &'static Table,
    columns: Vec<ColumnData>,
    len: usize,
}

impl Rows {
    /// No rows of `table` yet.
    pub fn new(table: &'static Table) -> Self {
        let columns = table
            .columns
            .iter()
            .map(|c| ColumnData {
                data: match c.ty {
                    ColumnType::String | ColumnType::StringList => Data::Bytes(Vec::new()),
                    ColumnType::Int32 => Data::I32(Vec::new()),
                    ColumnType::Int64 | ColumnType::Timestamp => Data::I64(Vec::new()),
                    ColumnType::Double => Data::F64(Vec::new()),
                    ColumnType::Boolean => Data::Bool(Vec::new()),
                },
                def: Vec::new(),
                rep: Vec::new(),
            })
            .collect();
        Rows {
            table,
            columns,
            len: 0,
        }
    }

    /// The table the rows belong to.
    pub fn table(&self) -> &'static Table {
        self.table
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a row: one cell per column, in the table's order.
    ///
    /// # Panics
    /// When a cell does not fit its column (a null in a required column, a
    /// value of another type): the row code has a bug, not the data.
    pub fn push(&mut self, cells: &[Cell<'_>]) {
        assert_eq!(
            cells.len(),
            self.columns.len(),
            "a row of {} has {} cells",
            self.table.name,
            self.columns.len()
        );
        for ((column, spec), cell) in self.columns.iter_mut().zip(&self.table.columns).zip(cells) {
            let optional = i16::from(spec.nullable);
            match (cell, &mut column.data) {
                (Cell::Null, _) => {
                    assert!(
                        spec.nullable,
                        "{}.{} is required",
                        self.table.name, spec.name
                    );
                    column.def.push(0);
                    if spec.ty == ColumnType::StringList {
                        column.rep.push(0);
                    }
                }
                (Cell::List(items), Data::Bytes(values)) => {
                    // Levels: `optional` for a present list, +1 for an
                    // element (the repeated group).
                    if items.is_empty() {
                        column.def.push(optional);
                        column.rep.push(0);
                    }
                    for (i, item) in items.iter().enumerate() {
                        values.push(ByteArray::from(item.as_str()));
                        column.def.push(optional + 1);
                        column.rep.push(i16::from(i > 0));
                    }
                }
                (Cell::Str(s), Data::Bytes(values)) => {
                    values.push(ByteArray::from(*s));
                    column.def.push(optional);
                }
                (Cell::I32(v), Data::I32(values)) => {
                    values.push(*v);
                    column.def.push(optional);
                }
                (Cell::I64(v), Data::I64(values)) => {
                    values.push(*v);
                    column.def.push(optional);
                }
                (Cell::F64(v), Data::F64(values)) => {
                    values.push(*v);
                    column.def.push(optional);
                }
                (Cell::Bool(v), Data::Bool(values)) => {
                    values.push(*v);
                    column.def.push(optional);
                }
                (cell, _) => panic!(
                    "{}.{} ({:?}) cannot hold {cell:?}",
                    self.table.name, spec.name, spec.ty
                ),
            }
        }
        self.len += 1;
    }

    /// The rows as a Parquet file (one row group, zstd-compressed), with
    /// `metadata` in the footer's key-value metadata.
    ///
    /// # Errors
    /// The parquet writer failed (a bug: the schema is ours).
    pub fn to_parquet(&self, metadata: &[(&str, String)]) -> parquet::errors::Result<Vec<u8>> {
        let schema = Arc::new(parse_message_type(&self.table.parquet_schema())?);
        let metadata = metadata
            .iter()
            .map(|(k, v)| parquet::file::metadata::KeyValue::new(k.to_string(), v.clone()))
            .collect();
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
                .set_key_value_metadata(Some(metadata))
                .set_created_by(format!("timbre {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let mut writer = SerializedFileWriter::new(Vec::new(), schema, props)?;
        let mut group = writer.next_row_group()?;
        let mut columns = self.columns.iter();
        while let Some(mut out) = group.next_column()? {
            let column = columns.next().ok_or_else(|| {
                parquet::errors::ParquetError::General("more leaves than columns".into())
            })?;
            let def = Some(column.def.as_slice());
            let rep = (!column.rep.is_empty()).then_some(column.rep.as_slice());
            match &column.data {
                Data::Bytes(v) => out.typed::<ByteArrayType>().write_batch(v, def, rep)?,
                Data::I32(v) => out.typed::<Int32Type>().write_batch(v, def, rep)?,
                Data::I64(v) => out.typed::<Int64Type>().write_batch(v, def, rep)?,
                Data::F64(v) => out.typed::<DoubleType>().write_batch(v, def, rep)?,
                Data::Bool(v) => out.typed::<BoolType>().write_batch(v, def, rep)?,
            };
            out.close()?;
        }
        group.close()?;
        writer.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    use super::*;
    use crate::lake::table::Column;
    use crate::lake::tables::INTERACTIONS;

    #[test]
    fn rows_read_back_as_written_nulls_and_lists_included() {
        static TABLE: std::sync::LazyLock<Table> = std::sync::LazyLock::new(|| Table {
            name: "t",
            version: 1,
            doc: "test",
            partition: ("day", "day"),
            columns: vec![
                Column {
                    name: "id",
                    ty: ColumnType::String,
                    nullable: false,
                    doc: "",
                },
                Column {
                    name: "x",
                    ty: ColumnType::Double,
                    nullable: true,
                    doc: "",
                },
                Column {
                    name: "tags",
                    ty: ColumnType::StringList,
                    nullable: false,
                    doc: "",
                },
                Column {
                    name: "n",
                    ty: ColumnType::Int32,
                    nullable: true,
                    doc: "",
                },
            ],
        });
        let mut rows = Rows::new(&TABLE);
        let tags = vec!["a".to_string(), "b".to_string()];
        rows.push(&[
            Cell::Str("one"),
            Cell::F64(0.5),
            Cell::List(&tags),
            Cell::I32(7),
        ]);
        rows.push(&[Cell::Str("two"), Cell::Null, Cell::List(&[]), Cell::Null]);
        let bytes = rows.to_parquet(&[("timbre.table", "t".into())]).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        let read: Vec<Vec<(String, Field)>> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| {
                r.unwrap()
                    .get_column_iter()
                    .map(|(n, f)| (n.clone(), f.clone()))
                    .collect()
            })
            .collect();
        assert_eq!(read[0][0].1, Field::Str("one".into()));
        assert_eq!(read[0][1].1, Field::Double(0.5));
        assert_eq!(read[1][1].1, Field::Null);
        assert_eq!(read[0][3].1, Field::Int(7));
        let Field::ListInternal(list) = &read[0][2].1 else {
            panic!("tags is a list: {:?}", read[0][2].1)
        };
        assert_eq!(
            list.elements(),
            &[Field::Str("a".into()), Field::Str("b".into())]
        );
        let Field::ListInternal(empty) = &read[1][2].1 else {
            panic!("an empty list stays a list")
        };
        assert!(empty.elements().is_empty());
    }

    #[test]
    #[should_panic(expected = "is required")]
    fn a_null_in_a_required_column_is_a_bug() {
        let mut rows = Rows::new(&INTERACTIONS);
        let mut cells = vec![Cell::Null; INTERACTIONS.columns.len()];
        cells[0] = Cell::Null;
        rows.push(&cells);
    }
}
