//! The one place where errors become what a GraphQL client sees: a message
//! and a stable `extensions.code`. Internal details are logged, not sent.
//!
//! | code                        | meaning                                             |
//! |-----------------------------|-----------------------------------------------------|
//! | `TRACK_NOT_FOUND`           | no track has the id given                           |
//! | `GENRE_NOT_FOUND`           | no genre has the name given                         |
//! | `INVALID_ARGUMENT`          | an argument is malformed or out of range            |
//! | `GRAPHQL_PARSE_FAILED`      | the request is not valid GraphQL syntax             |
//! | `GRAPHQL_VALIDATION_FAILED` | the request does not fit the schema                 |
//! | `QUERY_TOO_COMPLEX`         | the request exceeds the depth or complexity limit   |
//! | `BAD_REQUEST`               | the HTTP request carries no readable GraphQL request |
//! | `UNAVAILABLE`               | the store cannot be reached; retry later            |
//! | `NOT_CONFIGURED`            | the server is not set up for this (e.g. no Kafka)   |
//! | `INTERNAL`                  | a bug on our side; the server log has the details   |

use async_graphql::{ErrorExtensions, ServerError};

use crate::error::Error;
use crate::store::StoreError;

/// A machine-readable error code, sent as `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    TrackNotFound,
    GenreNotFound,
    InvalidArgument,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    QueryTooComplex,
    BadRequest,
    Unavailable,
    NotConfigured,
    Internal,
}

impl Code {
    /// The code as sent to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::TrackNotFound => "TRACK_NOT_FOUND",
            Code::GenreNotFound => "GENRE_NOT_FOUND",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::BadRequest => "BAD_REQUEST",
            Code::Unavailable => "UNAVAILABLE",
            Code::NotConfigured => "NOT_CONFIGURED",
            Code::Internal => "INTERNAL",
        }
    }

    /// An error with this code and message.
    pub fn error(self, message: impl Into<String>) -> async_graphql::Error {
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}

/// Converts a service error into a GraphQL error with its code.
pub fn to_graphql(err: Error) -> async_graphql::Error {
    let code = match &err {
        Error::TrackNotFound(_) => Code::TrackNotFound,
        Error::GenreNotFound(_) => Code::GenreNotFound,
        Error::Invalid(_) => Code::InvalidArgument,
        Error::Store(StoreError::Unavailable(_) | StoreError::Locked(_)) => Code::Unavailable,
        Error::Store(StoreError::Corrupt { .. } | StoreError::Backend(_))
        | Error::Index(_)
        | Error::Internal(_) => Code::Internal,
    };
    match code {
        Code::Internal => {
            tracing::error!(error = %err, "internal error answering a request");
            code.error("internal error; the server log has the details")
        }
        Code::Unavailable => {
            tracing::warn!(error = %err, "store unavailable");
            code.error("the store is unavailable; retry later")
        }
        _ => code.error(err.to_string()),
    }
}

/// `?`-friendly conversion of service results in resolvers.
pub trait ApiResult<T> {
    /// Maps the error with [`to_graphql`].
    fn api(self) -> async_graphql::Result<T>;
}

impl<T> ApiResult<T> for Result<T, Error> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}

/// Gives `err` the code `code` unless it already has one.
pub(crate) fn ensure_code(mut err: ServerError, code: Code) -> ServerError {
    let has_code = err
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if !has_code {
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
    err
}
