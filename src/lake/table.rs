//! How a lake table is described once and used three ways: to write its
//! Parquet files (`parquet.rs`), to generate its schema file under
//! `schema/lake/` (the catalog, kept current by a test), and to print the
//! `CREATE EXTERNAL TABLE` statements for Athena/Glue and Spark.

use serde_json::json;

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    Int32,
    Int64,
    Double,
    Boolean,
    /// Milliseconds since the epoch, UTC.
    Timestamp,
    /// A list of texts (artists, genres); empty rather than null.
    StringList,
}

impl ColumnType {
    /// The Parquet schema of a column of this type.
    fn parquet(self, name: &str, nullable: bool) -> String {
        let repetition = if nullable { "OPTIONAL" } else { "REQUIRED" };
        match self {
            ColumnType::String => format!("{repetition} BYTE_ARRAY {name} (STRING);"),
            ColumnType::Int32 => format!("{repetition} INT32 {name};"),
            ColumnType::Int64 => format!("{repetition} INT64 {name};"),
            ColumnType::Double => format!("{repetition} DOUBLE {name};"),
            ColumnType::Boolean => format!("{repetition} BOOLEAN {name};"),
            ColumnType::Timestamp => {
                format!("{repetition} INT64 {name} (TIMESTAMP(MILLIS,true));")
            }
            ColumnType::StringList => format!(
                "{repetition} group {name} (LIST) {{ REPEATED group list {{ REQUIRED BYTE_ARRAY element (STRING); }} }}"
            ),
        }
    }

    /// The SQL type, as Athena (Hive DDL) and Spark both spell it.
    fn sql(self) -> &'static str {
        match self {
            ColumnType::String => "STRING",
            ColumnType::Int32 => "INT",
            ColumnType::Int64 => "BIGINT",
            ColumnType::Double => "DOUBLE",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Timestamp => "TIMESTAMP",
            ColumnType::StringList => "ARRAY<STRING>",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int32 => "int32",
            ColumnType::Int64 => "int64",
            ColumnType::Double => "double",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamp => "timestamp_ms_utc",
            ColumnType::StringList => "list<string>",
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    /// What the column holds, for the catalog.
    pub doc: &'static str,
}

/// A table of the lake: its files live under
/// `curated/<name>/v<version>/<partition>=<value>/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: &'static str,
    /// Bumped by any change to the columns; files of older versions stay
    /// where they are, readable with their own schema file.
    pub version: u32,
    pub doc: &'static str,
    /// The Hive-style partition column (a string, e.g. `2026-12-04`); not
    /// stored in the files, given by their paths.
    pub partition: (&'static str, &'static str),
    pub columns: Vec<Column>,
}

impl Table {
    /// Where the table's files live, below the lake's root.
    pub fn prefix(&self) -> String {
        format!("curated/{}/v{}", self.name, self.version)
    }

    /// The table's Parquet message type.
    pub fn parquet_schema(&self) -> String {
        let fields: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("  {}", c.ty.parquet(c.name, c.nullable)))
            .collect();
        format!("message {} {{\n{}\n}}", self.name, fields.join("\n"))
    }

    /// The position of a column, by name.
    ///
    /// # Panics
    /// For a name the table does not have: a bug in the row code.
    pub fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("table {} has no column {name}", self.name))
    }

    /// The table's entry in the schema catalog (`schema/lake/`).
    pub fn catalog_json(&self) -> serde_json::Value {
        json!({
            "table": self.name,
            "version": self.version,
            "description": self.doc,
            "format": "parquet",
            "location": format!("{}/", self.prefix()),
            "partitioned_by": [{ "name": self.partition.0, "type": "string", "description": self.partition.1 }],
            "columns": self.columns.iter().map(|c| json!({
                "name": c.name,
                "type": c.ty.name(),
                "nullable": c.nullable,
                "description": c.doc,
            })).collect::<Vec<_>>(),
        })
    }

    /// `CREATE EXTERNAL TABLE` for Athena and AWS Glue (Hive DDL), over the
    /// lake at `root` (`s3://bucket/prefix`). Partitions are found with
    /// `MSCK REPAIR TABLE` (printed after it).
    pub fn athena_ddl(&self, root: &str) -> String {
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {name} (\n{columns}\n)\nCOMMENT '{doc}'\nPARTITIONED BY ({part} STRING)\nSTORED AS PARQUET\nLOCATION '{root}/{prefix}/';\nMSCK REPAIR TABLE {name};\n",
            name = self.name,
            columns = self.column_list(),
            doc = self.doc.replace('\'', "''"),
            part = self.partition.0,
            root = root.trim_end_matches('/'),
            prefix = self.prefix(),
        )
    }

    /// `CREATE TABLE … USING parquet` for Spark SQL, over the lake at `root`
    /// (a path Spark can read). Spark infers the partitions from the paths.
    pub fn spark_ddl(&self, root: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {name} (\n{columns},\n  {part} STRING\n)\nUSING parquet\nPARTITIONED BY ({part})\nLOCATION '{root}/{prefix}/';\nMSCK REPAIR TABLE {name};\n",
            name = self.name,
            columns = self.column_list(),
            part = self.partition.0,
            root = root.trim_end_matches('/'),
            prefix = self.prefix(),
        )
    }

    /// `CREATE OR REPLACE TEMPORARY VIEW … USING parquet` for one Spark
    /// session over the lake at `root`: no catalog needed, no
    /// `MSCK REPAIR` (partitions are found when the view is read), and a
    /// table with no file yet is an empty view, not an error. What timbre's
    /// Spark jobs run before their query.
    pub fn spark_temp_view(&self, root: &str) -> String {
        format!(
            "CREATE OR REPLACE TEMPORARY VIEW {name} (\n{columns},\n  {part} STRING\n)\nUSING parquet\nOPTIONS (path '{root}/{prefix}/')",
            name = self.name,
            columns = self.column_list(),
            part = self.partition.0,
            root = root.trim_end_matches('/'),
            prefix = self.prefix(),
        )
    }

    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("  {} {}", c.name, c.ty.sql()))
            .collect::<Vec<_>>()
            .join(",\n")
    }
}
