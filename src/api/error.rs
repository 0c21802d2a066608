//! The one place where errors become what a GraphQL client sees: a message
//! and a stable `extensions.code`. Internal details are logged, not sent.
//!
//! | code                        | meaning                                             |
//! |-----------------------------|-----------------------------------------------------|
//! | `TRACK_NOT_FOUND`           | no track has the id given                           |
//! | `GENRE_NOT_FOUND`           | no genre has the name given                         |
//! | `PLAYLIST_NOT_FOUND`        | no track of the catalog is in the playlist given    |
//! | `INVALID_ARGUMENT`          | an argument is malformed or out of range            |
//! | `GRAPHQL_PARSE_FAILED`      | the request is not valid GraphQL syntax             |
//! | `GRAPHQL_VALIDATION_FAILED` | the request does not fit the schema                 |
//! | `QUERY_TOO_COMPLEX`         | the request exceeds the depth or complexity limit   |
//! | `BAD_REQUEST`               | the HTTP request carries no readable GraphQL request |
//! | `UNAVAILABLE`               | the store cannot be reached; retry later            |
//! | `NOT_CONFIGURED`            | the server is not set up for this (e.g. no Kafka)   |
//! | `PERSISTED_QUERY_NOT_FOUND` | APQ: the hash is unknown; send the query with it    |
//! | `UNAUTHENTICATED`           | the operation needs an API key, or the key is wrong |
//! | `FORBIDDEN`                 | the API key's role does not allow the operation     |
//! | `METHOD_NOT_ALLOWED`        | a mutation was sent with GET                        |
//! | `RATE_LIMITED`              | too many requests from this client; see Retry-After |
//! | `PAYLOAD_TOO_LARGE`         | the request body exceeds `limits.max_body_bytes`    |
//! | `NOT_ACCEPTABLE`            | the Accept header names no media type we can send   |
//! | `UNSUPPORTED_MEDIA_TYPE`    | a POST body that is not `application/json`          |
//! | `INTERNAL`                  | a bug on our side; the server log has the details   |

use async_graphql::{ErrorExtensions, ServerError};

use crate::error::Error;
use crate::store::StoreError;

/// Declares [`Code`] from one table: each variant with the string clients
/// see, so that the enum, [`Code::as_str`] and [`Code::ALL`] cannot drift.
macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// A machine-readable error code, sent as `extensions.code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, for lookups and documentation checks.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as sent to clients.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    TrackNotFound => "TRACK_NOT_FOUND",
    GenreNotFound => "GENRE_NOT_FOUND",
    PlaylistNotFound => "PLAYLIST_NOT_FOUND",
    JobNotFound => "JOB_NOT_FOUND",
    TooManyJobs => "TOO_MANY_JOBS",
    EngineUnavailable => "ENGINE_UNAVAILABLE",
    EngineError => "ENGINE_ERROR",
    JobTimeout => "JOB_TIMEOUT",
    JobCancelled => "JOB_CANCELLED",
    JobInterrupted => "JOB_INTERRUPTED",
    ResultTooLarge => "RESULT_TOO_LARGE",
    InvalidArgument => "INVALID_ARGUMENT",
    GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
    GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
    QueryTooComplex => "QUERY_TOO_COMPLEX",
    BadRequest => "BAD_REQUEST",
    Unavailable => "UNAVAILABLE",
    NotConfigured => "NOT_CONFIGURED",
    PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
    Unauthenticated => "UNAUTHENTICATED",
    Forbidden => "FORBIDDEN",
    MethodNotAllowed => "METHOD_NOT_ALLOWED",
    RateLimited => "RATE_LIMITED",
    PayloadTooLarge => "PAYLOAD_TOO_LARGE",
    NotAcceptable => "NOT_ACCEPTABLE",
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
    Internal => "INTERNAL",
}

impl Code {
    /// The code of an error, if it carries one of ours.
    pub fn of(err: &ServerError) -> Option<Code> {
        let ext = err.extensions.as_ref()?;
        match ext.get("code")? {
            async_graphql::Value::String(s) => Code::ALL.iter().copied().find(|c| c.as_str() == s),
            _ => None,
        }
    }

    /// Whether the error stops a request before execution: nothing was
    /// run, so a `application/graphql-response+json` answer is a 4xx.
    pub fn is_request_error(self) -> bool {
        matches!(
            self,
            Code::GraphqlParseFailed
                | Code::GraphqlValidationFailed
                | Code::QueryTooComplex
                | Code::BadRequest
                | Code::PersistedQueryNotFound
        )
    }

    /// An error with this code and message.
    pub fn error(self, message: impl Into<String>) -> async_graphql::Error {
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", self.as_str()))
    }
}

/// The code of a service error: the one map from errors to codes, for
/// GraphQL and the HTTP/JSON routes alike.
pub fn code_of(err: &Error) -> Code {
    match err {
        Error::TrackNotFound(_) => Code::TrackNotFound,
        Error::GenreNotFound(_) => Code::GenreNotFound,
        Error::PlaylistNotFound(_) => Code::PlaylistNotFound,
        Error::JobNotFound(_) => Code::JobNotFound,
        Error::TooManyJobs(_) => Code::TooManyJobs,
        Error::Invalid(_) => Code::InvalidArgument,
        Error::Unauthenticated(_) => Code::Unauthenticated,
        Error::Forbidden(_) => Code::Forbidden,
        Error::MethodNotAllowed(_) => Code::MethodNotAllowed,
        Error::NotConfigured(_) => Code::NotConfigured,
        Error::Store(StoreError::Unavailable(_) | StoreError::Locked(_)) => Code::Unavailable,
        Error::Store(StoreError::Corrupt { .. } | StoreError::Backend(_))
        | Error::Index(_)
        | Error::Internal(_) => Code::Internal,
    }
}

/// Converts a service error into a GraphQL error with its code. Internal
/// details are logged, not sent.
pub fn to_graphql(err: Error) -> async_graphql::Error {
    let code = code_of(&err);
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

/// A GraphQL error for an invalid argument, the message saying why.
pub fn invalid(message: impl Into<String>) -> async_graphql::Error {
    to_graphql(Error::invalid(message))
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

/// The code of a validation error: a depth or complexity limit, or a
/// document that does not fit the schema.
pub(crate) fn validation_code(err: &ServerError) -> Code {
    if err.message.contains("nested too deep") || err.message.contains("too complex") {
        Code::QueryTooComplex
    } else {
        Code::GraphqlValidationFailed
    }
}

/// Gives every error of an executed `response` a code, for a schema
/// without the [`super::extension::ErrorCodes`] extension. The request
/// was parsed (and persisted queries resolved) before execution, so an
/// error without a code comes from validation, which has no `path`, or
/// from async-graphql coercing an argument while a field resolved, which
/// has one; ours always carry a code.
pub fn code_errors(response: &mut async_graphql::Response) {
    for err in &mut response.errors {
        let code = if err.path.is_empty() {
            validation_code(err)
        } else {
            Code::InvalidArgument
        };
        add_code(err, code);
    }
}

/// Gives `err` the code `code` unless it already has one.
/// `err` with `code` unless it has one, and its message cut to
/// `domain::bounds::MESSAGE_CHARS` (async-graphql's own messages quote the
/// document: an unknown field's name, a bad value).
pub(crate) fn ensure_code(mut err: ServerError, code: Code) -> ServerError {
    add_code(&mut err, code);
    err.message = crate::domain::bounds::clip(&err.message);
    err
}

fn add_code(err: &mut ServerError, code: Code) {
    let has_code = err
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if !has_code {
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{PathSegment, Response};

    #[test]
    fn errors_out_of_an_extension_free_schema_get_the_stage_s_code() {
        let mut coerced = ServerError::new("Invalid value for argument \"first\"", None);
        coerced.path = vec![PathSegment::Field("similar".into())];
        let ours = ensure_code(ServerError::new("no such track", None), Code::TrackNotFound);
        let mut response = Response::from_errors(vec![
            ServerError::new("Unknown field \"nope\" on type \"QueryRoot\".", None),
            ServerError::new("Query is nested too deep.", None),
            coerced,
            ours,
        ]);
        code_errors(&mut response);
        let codes: Vec<_> = response.errors.iter().filter_map(Code::of).collect();
        assert_eq!(
            codes,
            [
                Code::GraphqlValidationFailed,
                Code::QueryTooComplex,
                Code::InvalidArgument,
                Code::TrackNotFound
            ]
        );
    }

    #[test]
    fn every_job_failure_code_is_an_api_code() {
        for code in crate::domain::job::failure::ALL {
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == code),
                "{code} is missing from the codes! table"
            );
        }
    }
}
