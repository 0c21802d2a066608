//! A test server run as a child process on a loopback port: started (and
//! started again after a stop) with the same command, stopped with SIGTERM.
//! The MongoDB and Kafka test servers are both this.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the tests run in CI, where a missing server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary named by environment variable `var` (set by
/// `scripts/services.sh`); `None` outside CI when unset.
pub fn installed(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(b) => Some(PathBuf::from(b)),
        None if in_ci() => panic!("CI=true but {var} is not set: run scripts/test.sh"),
        None => {
            eprintln!("{what} not installed (run scripts/test.sh); passing over this test");
            None
        }
    }
}

/// A server process that can be stopped and started again.
pub struct ServerProcess {
    name: &'static str,
    binary: PathBuf,
    args: Vec<String>,
    /// Working directory, where the server needs one.
    dir: Option<PathBuf>,
    pub port: u16,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts `binary args` (in `dir`, when given), serving on `port`.
    pub fn start(
        name: &'static str,
        binary: PathBuf,
        args: Vec<String>,
        dir: Option<PathBuf>,
        port: u16,
    ) -> Self {
        let mut server = ServerProcess {
            name,
            binary,
            args,
            dir,
            port,
            child: None,
        };
        server.resume();
        server
    }

    /// Starts the process (again) and waits until its port accepts.
    pub fn resume(&mut self) {
        let mut command = Command::new(&self.binary);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        let child = command
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", self.name));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not open port {}",
                self.name,
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process (SIGTERM, SIGKILL after 15 s) and waits for it.
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
