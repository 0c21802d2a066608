//! Work that must not slow requests and writes: a thread at a lower CPU
//! priority.
//!
//! Graph catch-ups insert vectors that are already searchable (through the
//! index's exact tail scan), so they can wait; requests and the ingest path
//! cannot. On two cores a catch-up at normal priority took about a sixth of
//! the Kafka ingest rate (bench/ingest.sh: 20,177 tracks/s without
//! catch-ups, 16,889 with them). At nice 10 the kernel gives the catch-up a
//! core only when nothing else wants it; threads it starts (hnsw_rs's
//! builder pool) inherit the priority.

/// The nice value of background threads (0 is normal, 19 the lowest).
const NICE: i32 = 10;

/// Runs `work` on a new thread at lower priority and hands its result to
/// the returned receiver; an `Err` there means the work panicked.
///
/// # Errors
/// The thread could not be started.
pub fn spawn<R: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> R + Send + 'static,
) -> std::io::Result<tokio::sync::oneshot::Receiver<R>> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_priority();
            // The receiver may be gone (shutdown); the work is done anyway.
            let _ = done.send(work());
        })?;
    Ok(result)
}

/// Lowers the calling thread's scheduling priority to [`NICE`].
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: on Linux, setpriority(PRIO_PROCESS, 0, _) changes only the
        // calling thread (a task of its own for the kernel); it touches no
        // memory of ours. Failing (a sandbox forbidding it) leaves the
        // priority as it was, which is only slower.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_and_its_result_comes_back_at_the_lower_priority() {
        let nice = super::spawn("test", || {
            #[cfg(target_os = "linux")]
            // SAFETY: reads the calling thread's priority.
            return unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            #[cfg(not(target_os = "linux"))]
            return super::NICE;
        })
        .unwrap()
        .await
        .unwrap();
        assert_eq!(nice, super::NICE);
        let panicked = super::spawn("test", || panic!("boom")).unwrap().await;
        assert!(panicked.is_err());
    }
}
