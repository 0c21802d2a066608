//! Requests that actix-http cannot parse (bad header bytes, an over-long
//! URI, a garbled request line): it answers them 400, 414 or 431 itself,
//! before any of timbre's code runs, and logs each as an ERROR
//! ("stream error: request parse error: …"). Any client could fill the
//! log with errors that way, and an operator would take them for server
//! faults. [`ClientMistakes`] drops those events from the log and counts
//! them instead (`timbre_http_malformed_requests_total` in `/metrics`); the
//! dispatcher's other errors (a failing response stream, an upgrade) stay
//! at ERROR.

use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Where actix-http logs them.
const DISPATCHER: &str = "actix_http::h1::dispatcher";
/// How their messages begin.
const PARSE_ERROR: &str = "stream error: request parse error";

/// Malformed requests seen since start.
pub static MALFORMED_REQUESTS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// A tracing layer that turns actix-http's parse-error events into a count.
pub struct ClientMistakes;

impl<S: Subscriber> Layer<S> for ClientMistakes {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        if event.metadata().target() != DISPATCHER {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if message.0.starts_with(PARSE_ERROR) {
            MALFORMED_REQUESTS.inc();
            return false;
        }
        true
    }
}

/// The event's `message` field.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// Collects the messages of the events that get through.
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }

    #[test]
    fn parse_errors_are_counted_not_logged_and_other_errors_pass() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(ClientMistakes)
            .with(Seen(Arc::clone(&seen)));
        let before = MALFORMED_REQUESTS.get();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: request parse error: invalid Header provided");
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: Connection reset by peer");
            tracing::error!(target: "timbre::http", "stream error: request parse error: ours");
        });
        assert_eq!(MALFORMED_REQUESTS.get() - before, 1);
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "stream error: Connection reset by peer",
                "stream error: request parse error: ours"
            ]
        );
    }
}
