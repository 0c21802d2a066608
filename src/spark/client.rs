//! A thin Spark Connect client: one gRPC channel, SQL statements run in a
//! session of their own, a query's rows as they come (Arrow batches),
//! interrupts and session release. Enough for timbre's jobs, which send SQL
//! and read one column of JSON rows back.
//!
//! Why not a crate: of the Rust clients on crates.io, `spark-connect-rs`
//! is unmaintained (Arrow 53, tonic 0.11) and `apache-spark-connect`
//! brings a blocking API and a second Arrow; timbre needs four messages
//! (`proto.rs`), which tonic and prost carry without generated code.

use std::time::Duration;

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status, Streaming};

use super::SparkError;
use super::{arrow, proto};

const EXECUTE_PLAN: &str = "/spark.connect.SparkConnectService/ExecutePlan";
const INTERRUPT: &str = "/spark.connect.SparkConnectService/Interrupt";
const RELEASE_SESSION: &str = "/spark.connect.SparkConnectService/ReleaseSession";

/// Who timbre says it is to Spark.
const CLIENT_TYPE: &str = concat!("timbre/", env!("CARGO_PKG_VERSION"));

/// The largest message timbre accepts from Spark.
const MAX_MESSAGE: usize = 256 << 20;

/// The port of `sc://host` without one.
const DEFAULT_PORT: u16 = 15002;

/// A connection to a Spark Connect server (made on first use, and again
/// after the server comes back).
#[derive(Clone)]
pub struct SparkConnect {
    channel: Channel,
    address: String,
}

impl std::fmt::Debug for SparkConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparkConnect")
            .field("address", &self.address)
            .finish()
    }
}

impl SparkConnect {
    /// A client for `url` (`sc://host[:port][/;param=value…]`); connects
    /// lazily.
    ///
    /// # Errors
    /// [`SparkError::Config`] for a URL that is not Spark Connect's.
    pub fn new(url: &str) -> Result<Self, SparkError> {
        let bad = |why: &str| SparkError::Config(format!("Spark Connect URL {url:?}: {why}"));
        let rest = url
            .strip_prefix("sc://")
            .ok_or_else(|| bad("it must start with sc://"))?;
        let authority = rest.split(['/', ';']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let address = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:{DEFAULT_PORT}")
        };
        let channel = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| bad(&e.to_string()))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(SparkConnect { channel, address })
    }

    /// Where the server is (`host:port`).
    pub fn address(&self) -> &str {
        &self.address
    }

    async fn grpc(&self) -> Result<tonic::client::Grpc<Channel>, SparkError> {
        // Spark sends batches of up to `spark.connect.grpc.arrow.maxBatchSize`
        // (4 MiB by default) in a message, over tonic's 4 MiB default limit
        // once framed; a cluster may be configured for larger ones.
        let mut grpc =
            tonic::client::Grpc::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE);
        grpc.ready()
            .await
            .map_err(|e| SparkError::Unavailable(format!("{}: {e}", self.address)))?;
        Ok(grpc)
    }

    fn user() -> Option<proto::UserContext> {
        Some(proto::UserContext {
            user_id: "timbre".into(),
            user_name: "timbre".into(),
        })
    }

    /// Runs one SQL statement in `session` (a UUID; temporary views live
    /// as long as it does) and waits for it to finish.
    ///
    /// # Errors
    /// [`SparkError::Unavailable`] when the server cannot be reached,
    /// [`SparkError::Query`] with Spark's message when the statement fails.
    pub async fn sql(&self, session: &str, statement: &str) -> Result<(), SparkError> {
        let plan = proto::Plan {
            root: None,
            command: Some(proto::Command {
                sql_command: Some(proto::SqlCommand {
                    input: Some(relation(statement)),
                }),
            }),
        };
        let mut stream = self.execute(session, plan).await?;
        // The stream ends with status OK once the statement has run (a
        // `ResultComplete` message comes only with reattachable execution,
        // which timbre does not ask for); a failure ends it with an error.
        // The messages themselves (progress, metrics) are not needed.
        while stream.message().await.map_err(|s| self.error(s))?.is_some() {}
        Ok(())
    }

    /// Runs `query` in `session` and answers its rows as they come, batch
    /// by batch: the query must answer one text column (see
    /// [`super::arrow`]).
    ///
    /// # Errors
    /// As [`SparkConnect::sql`], when the query cannot start.
    pub async fn rows(&self, session: &str, query: &str) -> Result<Rows, SparkError> {
        let plan = proto::Plan {
            root: Some(relation(query)),
            command: None,
        };
        Ok(Rows {
            stream: self.execute(session, plan).await?,
            client: self.clone(),
        })
    }

    /// Starts executing `plan` in `session`.
    async fn execute(
        &self,
        session: &str,
        plan: proto::Plan,
    ) -> Result<Streaming<proto::ExecutePlanResponse>, SparkError> {
        let request = proto::ExecutePlanRequest {
            session_id: session.to_string(),
            user_context: Self::user(),
            plan: Some(plan),
            client_type: Some(CLIENT_TYPE.into()),
            operation_id: Some(uuid::Uuid::new_v4().to_string()),
        };
        let codec = tonic_prost::ProstCodec::<proto::ExecutePlanRequest, proto::ExecutePlanResponse>::default();
        Ok(self
            .grpc()
            .await?
            .server_streaming(
                tonic::Request::new(request),
                PathAndQuery::from_static(EXECUTE_PLAN),
                codec,
            )
            .await
            .map_err(|s| self.error(s))?
            .into_inner())
    }

    /// Interrupts everything running in `session`.
    ///
    /// # Errors
    /// The server cannot be reached or refused.
    pub async fn interrupt(&self, session: &str) -> Result<(), SparkError> {
        let request = proto::InterruptRequest {
            session_id: session.to_string(),
            user_context: Self::user(),
            client_type: Some(CLIENT_TYPE.into()),
            interrupt_type: proto::INTERRUPT_ALL,
        };
        self.unary::<_, proto::InterruptResponse>(INTERRUPT, request)
            .await
    }

    /// Frees `session` on the server (its temporary views).
    ///
    /// # Errors
    /// The server cannot be reached or refused.
    pub async fn release(&self, session: &str) -> Result<(), SparkError> {
        let request = proto::ReleaseSessionRequest {
            session_id: session.to_string(),
            user_context: Self::user(),
            client_type: Some(CLIENT_TYPE.into()),
        };
        self.unary::<_, proto::ReleaseSessionResponse>(RELEASE_SESSION, request)
            .await
    }

    /// Calls the unary method at `path`; the answer's content is not used.
    async fn unary<Req, Resp>(&self, path: &'static str, request: Req) -> Result<(), SparkError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        self.grpc()
            .await?
            .unary(
                tonic::Request::new(request),
                PathAndQuery::from_static(path),
                codec,
            )
            .await
            .map_err(|s| self.error(s))?;
        Ok(())
    }

    /// A gRPC status as our error: the server's absence, or Spark's own
    /// message (its error class first, e.g. `[TABLE_OR_VIEW_NOT_FOUND]`).
    fn error(&self, status: Status) -> SparkError {
        let unreachable = matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded)
            || (status.code() == Code::Unknown && status.message().contains("transport error"));
        if unreachable {
            return SparkError::Unavailable(format!("{}: {}", self.address, status.message()));
        }
        if status.code() == Code::Cancelled {
            return SparkError::Interrupted;
        }
        SparkError::Query(status.message().chars().take(2_000).collect())
    }
}

/// A SQL relation: a statement's text.
fn relation(statement: &str) -> proto::Relation {
    proto::Relation {
        sql: Some(proto::Sql {
            query: statement.to_string(),
        }),
    }
}

/// A query's rows, read batch by batch as Spark sends them (so a result of
/// millions of rows is never held whole).
pub struct Rows {
    stream: Streaming<proto::ExecutePlanResponse>,
    client: SparkConnect,
}

impl Rows {
    /// The next batch's rows; `None` once the query has answered all.
    ///
    /// # Errors
    /// The query failed on Spark (as [`SparkConnect::sql`]), or a batch
    /// is not one text column ([`SparkError::Results`]).
    pub async fn next_batch(&mut self) -> Result<Option<Vec<String>>, SparkError> {
        loop {
            let message = self.stream.message().await;
            let Some(message) = message.map_err(|s| self.client.error(s))? else {
                return Ok(None);
            };
            if let Some(batch) = message.arrow_batch {
                let rows = arrow::text_rows(&batch.data).map_err(SparkError::Results)?;
                if i64::try_from(rows.len()).ok() != Some(batch.row_count) {
                    return Err(SparkError::Results(format!(
                        "a batch said {} rows and held {}",
                        batch.row_count,
                        rows.len()
                    )));
                }
                return Ok(Some(rows));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_spark_connect_s() {
        assert_eq!(
            SparkConnect::new("sc://spark:15003/;user_id=x")
                .unwrap()
                .address(),
            "spark:15003"
        );
        assert_eq!(
            SparkConnect::new("sc://spark").unwrap().address(),
            "spark:15002"
        );
        for bad in ["http://spark:15002", "sc://", "spark:15002"] {
            assert!(
                matches!(SparkConnect::new(bad), Err(SparkError::Config(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn an_absent_server_is_unavailable_not_a_query_error() {
        // A port nothing listens on: bind one and close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = SparkConnect::new(&format!("sc://127.0.0.1:{port}")).unwrap();
        let err = client
            .sql("00000000-0000-0000-0000-000000000000", "SELECT 1")
            .await
            .unwrap_err();
        assert!(matches!(err, SparkError::Unavailable(_)), "{err:?}");
    }
}
