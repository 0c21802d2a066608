//! Real MongoDB-wire servers for tests: the one `scripts/test.sh` started
//! (`TIMBRE_TEST_MONGODB_URI`), and private ones a test can stop and start
//! (SecantusDB at `TIMBRE_SECANTUSD`, installed by `scripts/services.sh`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

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
pub struct MongoProcess {
    binary: PathBuf,
    storage: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl MongoProcess {
    /// Starts a server on a free port; `None` (outside CI) when SecantusDB
    /// is not installed.
    pub fn start(storage: &Path) -> Option<Self> {
        let binary = match std::env::var_os("TIMBRE_SECANTUSD") {
            Some(b) => PathBuf::from(b),
            None if in_ci() => {
                panic!("CI=true but TIMBRE_SECANTUSD is not set: run scripts/test.sh")
            }
            None => {
                eprintln!("SecantusDB not installed (run scripts/test.sh); passing over this test");
                return None;
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = MongoProcess {
            binary,
            storage: storage.to_path_buf(),
            port,
            child: None,
        };
        server.resume();
        Some(server)
    }

    /// The URI of this server.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// Starts the process (again) and waits until its port accepts.
    pub fn resume(&mut self) {
        let child = Command::new(&self.binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--log-level",
                "WARNING",
            ])
            .arg("--storage-path")
            .arg(&self.storage)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("SecantusDB starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SecantusDB did not open port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the process (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for MongoProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
