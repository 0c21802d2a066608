//! Reading the lake from Python, as analysts do: DuckDB and Apache Spark
//! (pyspark, local mode), both installed by `scripts/services.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::server_process::{in_ci, installed};

/// Runs `tests/lake/read_lake.py ENGINE ROOT SQL` with the venv's Python
/// named by `python_var`; `None` outside CI when the tools are missing.
pub async fn read_lake(python_var: &str, engine: &str, root: &Path, sql: &str) -> Option<Value> {
    let python = installed(python_var, "the lake's Python tools")?;
    let sql_file = root.with_extension(format!("{engine}.sql"));
    std::fs::write(&sql_file, sql).expect("SQL written");
    let args = vec![
        engine.to_string(),
        root.to_string_lossy().into_owned(),
        sql_file.to_string_lossy().into_owned(),
    ];
    // Spark's scratch files go beside the lake, in the test's directory.
    let tmp = root.parent().unwrap_or(root).to_path_buf();
    let stdout = run_python(python, "read_lake.py", args, Some(tmp)).await;
    let last = stdout.lines().last().unwrap_or_default();
    Some(serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

/// The S3 test server `scripts/test.sh` started; `None` (outside CI) when
/// there is none.
pub fn s3_endpoint() -> Option<String> {
    match std::env::var("TIMBRE_TEST_S3_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) => {
            assert!(
                !in_ci(),
                "CI=true but TIMBRE_TEST_S3_ENDPOINT is not set: run scripts/test.sh"
            );
            eprintln!("no S3 test server (run scripts/test.sh); passing over this test");
            None
        }
    }
}

/// Runs `tests/lake/s3.py ENDPOINT COMMAND ARGS…` (boto3 against the test
/// S3 server) and returns its JSON output.
pub async fn s3(endpoint: &str, args: &[&str]) -> Option<Value> {
    let python = installed("TIMBRE_LAKE_PYTHON", "the lake's Python tools")?;
    let args = std::iter::once(endpoint)
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect();
    let stdout = run_python(python, "s3.py", args, None).await;
    Some(serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

/// Runs `tests/lake/<script>` with `python` off the async runtime, asserts
/// that it succeeded, and returns its standard output.
async fn run_python(
    python: PathBuf,
    script: &str,
    args: Vec<String>,
    tmp: Option<PathBuf>,
) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lake")
        .join(script);
    let name = script.display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(python);
        command.arg(&script).args(args);
        if let Some(tmp) = tmp {
            command.env("TMPDIR", tmp);
        }
        command.output().expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed: {stdout}\n{}",
        name,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
