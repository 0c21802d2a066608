//! Reading the lake from Python, as analysts do: DuckDB and Apache Spark
//! (pyspark, local mode), both installed by `scripts/services.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::server_process::installed;

/// Runs `tests/lake/read_lake.py ENGINE ROOT SQL` with the venv's Python
/// named by `python_var`; `None` outside CI when the tools are missing.
pub async fn read_lake(python_var: &str, engine: &str, root: &Path, sql: &str) -> Option<Value> {
    let python = installed(python_var, "the lake's Python tools")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lake/read_lake.py");
    let sql_file = root.with_extension(format!("{engine}.sql"));
    std::fs::write(&sql_file, sql).expect("SQL written");
    let root = root.to_path_buf();
    let engine = engine.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(&engine)
            .arg(&root)
            .arg(&sql_file)
            .env("TMPDIR", root.parent().unwrap_or(&root))
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "read_lake.py failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    Some(serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

/// Runs `tests/lake/s3.py COMMAND ARGS…` (boto3 against the test S3
/// server) and returns its JSON output.
pub async fn s3(endpoint: &str, args: &[&str]) -> Option<Value> {
    let python = installed("TIMBRE_LAKE_PYTHON", "the lake's Python tools")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lake/s3.py");
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let endpoint = endpoint.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(endpoint)
            .args(args)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "s3.py failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}
