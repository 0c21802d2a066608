//! The few Spark Connect messages timbre sends and reads, written with
//! prost's derive from `spark/connect/base.proto`, `commands.proto` and
//! `relations.proto` (Spark 4.x, package `spark.connect`) instead of
//! generated from them: the protocol has hundreds of messages, timbre needs
//! a SQL command, its answer, an interrupt and a session's release, and a
//! build that needs no `protoc`.
//!
//! Protobuf decoders skip fields they do not know, so each message declares
//! only the fields used; a `oneof` with one used variant is declared as that
//! one optional field (the same bytes on the wire). Tags are the .proto's.

/// `ExecutePlanRequest` (base.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(message, optional, tag = "3")]
    pub plan: Option<Plan>,
    #[prost(string, optional, tag = "4")]
    pub client_type: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub operation_id: Option<String>,
}

/// `UserContext` (base.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserContext {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, tag = "2")]
    pub user_name: String,
}

/// `Plan` (base.proto): its `op_type` oneof as the `root` variant (a
/// query whose rows come back) or the `command` variant (a statement run
/// for its effect); exactly one is set.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Plan {
    #[prost(message, optional, tag = "1")]
    pub root: Option<Relation>,
    #[prost(message, optional, tag = "2")]
    pub command: Option<Command>,
}

/// `Command` (commands.proto): its `command_type` oneof as `sql_command`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Command {
    #[prost(message, optional, tag = "5")]
    pub sql_command: Option<SqlCommand>,
}

/// `SqlCommand` (commands.proto): the statement as a relation (`input`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SqlCommand {
    #[prost(message, optional, tag = "6")]
    pub input: Option<Relation>,
}

/// `Relation` (relations.proto): its `rel_type` oneof as `sql`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Relation {
    #[prost(message, optional, tag = "10")]
    pub sql: Option<Sql>,
}

/// `SQL` (relations.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sql {
    #[prost(string, tag = "1")]
    pub query: String,
}

/// `ExecutePlanResponse` (base.proto): the stream's messages; of their
/// `response_type` oneof only `arrow_batch` (a query's rows) is read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub arrow_batch: Option<ArrowBatch>,
    #[prost(string, tag = "12")]
    pub operation_id: String,
}

/// `ExecutePlanResponse.ArrowBatch` (base.proto): rows as one Arrow IPC
/// stream (schema and record batch). Chunking, which splits a batch over
/// several messages, is off unless the request asks for it (timbre does
/// not).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrowBatch {
    #[prost(int64, tag = "1")]
    pub row_count: i64,
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
}

/// `InterruptRequest` (base.proto), with `interrupt_type`
/// `INTERRUPT_TYPE_ALL` (1): every execution of the session.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(string, optional, tag = "3")]
    pub client_type: Option<String>,
    #[prost(int32, tag = "4")]
    pub interrupt_type: i32,
}

/// `InterruptRequest.InterruptType.INTERRUPT_TYPE_ALL`.
pub const INTERRUPT_ALL: i32 = 1;

/// `InterruptResponse` (base.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, repeated, tag = "2")]
    pub interrupted_ids: Vec<String>,
}

/// `ReleaseSessionRequest` (base.proto): frees the session's state (its
/// temporary views) on the server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseSessionRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(string, optional, tag = "3")]
    pub client_type: Option<String>,
}

/// `ReleaseSessionResponse` (base.proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseSessionResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
}
