//! Real MongoDB-wire servers for tests: the one `scripts/test.sh` started
//! (`TIMBRE_TEST_MONGODB_URI`), and private ones a test can stop and start
//! (SecantusDB at `TIMBRE_SECANTUSD`, installed by `scripts/services.sh`).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::server_process::{free_port, in_ci, installed, ServerProcess};

/// The shared test server's URI; `None` (outside CI) when there is none.
pub fn shared_uri() -> Option<String> {
    match std::env::var("TIMBRE_TEST_MONGODB_URI") {
        Ok(uri) => Some(uri),
        Err(_) if in_ci() => {
            panic!("CI=true but TIMBRE_TEST_MONGODB_URI is not set: run scripts/test.sh")
        }
        Err(_) => {
            eprintln!("no MongoDB test server (run scripts/test.sh); passing over this test");
            None
        }
    }
}

/// A database name no other test uses.
pub fn unique_database(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{test}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A private SecantusDB process with storage on disk, so that it can be
/// stopped and started again with its data.
pub struct MongoProcess(ServerProcess);

impl MongoProcess {
    /// Starts a server on a free port; `None` (outside CI) when SecantusDB
    /// is not installed.
    pub fn start(storage: &Path) -> Option<Self> {
        let binary = installed("TIMBRE_SECANTUSD", "SecantusDB")?;
        let port = free_port();
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "WARNING",
        ]
        .into_iter()
        .map(String::from)
        .chain(["--storage-path".to_string(), storage.display().to_string()])
        .collect();
        Some(MongoProcess(ServerProcess::start(
            "SecantusDB",
            binary,
            args,
            None,
            port,
        )))
    }

    /// The URI of this server.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.0.port)
    }

    /// Starts the process again.
    pub fn resume(&mut self) {
        self.0.resume();
    }

    /// Stops the process (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        self.0.stop();
    }
}
