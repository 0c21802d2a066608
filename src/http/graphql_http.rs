//! GraphQL over HTTP, as the GraphQL-over-HTTP specification says: the
//! request's parameters from a JSON body (POST) or the URL (GET), the media
//! type chosen from `Accept`, and status codes that match the outcome.
//!
//! With `application/graphql-response+json` a request that never ran
//! (unparsable, invalid, over a limit) answers 400; with the older
//! `application/json` it answers 200 and clients read `errors`. Either way
//! a request that did not run carries no `data` entry. Authentication
//! failures answer 401/403 and a mutation over GET 405 in both.

use actix_web::http::StatusCode;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Request, Response, Value, Variables};
use serde_json::{json, Map};

use crate::api::error::Code;

/// The media types timbre answers GraphQL requests in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes carry meaning.
    GraphqlResponse,
    /// `application/json`: the legacy type, always 200 for a well-formed
    /// request.
    Json,
}

impl MediaType {
    /// The `Content-Type` header value.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// The media type to answer in, from the `Accept` header: the first listed
/// type we can send (`*/*` and a missing header mean `application/json`,
/// as the specification asks), or `None` when we can send none of them.
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(MediaType::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "application/graphql-response+json" => return Some(MediaType::GraphqlResponse),
            "application/json" | "application/*" | "*/*" => return Some(MediaType::Json),
            _ => {}
        }
    }
    None
}

/// A request refused before it reached GraphQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, Code::BadRequest, message)
    }

    /// The JSON body: a GraphQL response with one error and no data.
    pub fn body(&self) -> serde_json::Value {
        json!({ "errors": [{ "message": self.message, "extensions": { "code": self.code.as_str() } }] })
    }
}

/// The parameters of a GraphQL request, before execution.
#[derive(Debug, Default, PartialEq)]
pub struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, serde_json::Value>>,
    pub extensions: Option<Map<String, serde_json::Value>>,
}

impl Params {
    /// Reads a POST body.
    ///
    /// # Errors
    /// 400 for a body that is not a JSON object or has parameters of the
    /// wrong type.
    pub fn from_body(body: &[u8]) -> Result<Params, Refusal> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            let e = crate::domain::bounds::clip(&e.to_string());
            Refusal::bad_request(format!("the body is not valid JSON: {e}"))
        })?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(Refusal::bad_request(
                "the body must be a JSON object with a `query` (batched requests are not supported)",
            ));
        };
        let string = |map: &mut Map<String, serde_json::Value>, key: &str| match map.remove(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Refusal::bad_request(format!("`{key}` must be a string"))),
        };
        let object = |map: &mut Map<String, serde_json::Value>, key: &str| match map.remove(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(Refusal::bad_request(format!("`{key}` must be an object"))),
        };
        Params {
            query: string(&mut map, "query")?,
            operation_name: string(&mut map, "operationName")?,
            variables: object(&mut map, "variables")?,
            extensions: object(&mut map, "extensions")?,
        }
        .checked()
    }

    /// Reads the URL's query string of a GET request, where `variables` and
    /// `extensions` are JSON text.
    ///
    /// # Errors
    /// 400 for a malformed query string or parameter.
    pub fn from_query_string(query_string: &str) -> Result<Params, Refusal> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query_string)
            .map_err(|e| Refusal::bad_request(format!("the query string is malformed: {e}")))?;
        let mut params = Params::default();
        for (key, value) in pairs {
            let json_object = |value: &str| match serde_json::from_str(value) {
                Ok(serde_json::Value::Object(o)) => Ok(Some(o)),
                Ok(serde_json::Value::Null) => Ok(None),
                _ => Err(Refusal::bad_request(format!(
                    "`{key}` must be a JSON object"
                ))),
            };
            match key.as_str() {
                "query" => params.query = Some(value),
                "operationName" => params.operation_name = Some(value),
                "variables" => params.variables = json_object(&value)?,
                "extensions" => params.extensions = json_object(&value)?,
                _ => {}
            }
        }
        params.checked()
    }

    fn checked(self) -> Result<Params, Refusal> {
        let persisted = self
            .extensions
            .as_ref()
            .is_some_and(|e| e.contains_key("persistedQuery"));
        if self.query.is_none() && !persisted {
            return Err(Refusal::bad_request("the request has no `query`"));
        }
        Ok(self)
    }

    /// The async-graphql request.
    ///
    /// # Errors
    /// 400 when an extension value cannot be represented.
    pub fn into_request(self) -> Result<Request, Refusal> {
        let mut request = Request::new(self.query.unwrap_or_default());
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = self.variables {
            request = request.variables(Variables::from_json(serde_json::Value::Object(variables)));
        }
        for (key, value) in self.extensions.unwrap_or_default() {
            let value = Value::from_json(value)
                .map_err(|e| Refusal::bad_request(format!("extension `{key}`: {e}")))?;
            request.extensions.0.insert(key, value);
        }
        Ok(request)
    }
}

/// Refuses a mutation sent with GET (before anything runs); the document
/// has been parsed by then.
///
/// # Errors
/// 405 for a mutation.
pub fn refuse_get_mutation(request: &mut Request) -> Result<(), Refusal> {
    if request.query.is_empty() {
        return Ok(());
    }
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return Ok(());
    };
    let ty = match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match &name {
            Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    };
    if ty == Some(OperationType::Mutation) {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::MethodNotAllowed,
            "mutations must be sent with POST, not GET",
        ));
    }
    Ok(())
}

/// The status code and JSON body of a GraphQL response.
pub fn render(response: &Response, media: MediaType) -> (StatusCode, Vec<u8>) {
    let codes: Vec<Code> = response.errors.iter().filter_map(Code::of).collect();
    let ran = !(response.data == Value::Null && codes.iter().any(|c| c.is_request_error()));
    let status = if response.data != Value::Null || response.errors.is_empty() {
        StatusCode::OK
    } else if codes.contains(&Code::Unauthenticated) {
        StatusCode::UNAUTHORIZED
    } else if codes.contains(&Code::Forbidden) {
        StatusCode::FORBIDDEN
    } else if codes.contains(&Code::MethodNotAllowed) {
        StatusCode::METHOD_NOT_ALLOWED
    } else if !ran && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Written straight to bytes (this is every request's path); a request
    // that never ran is written without its `data` entry.
    let written = if ran {
        serde_json::to_vec(response)
    } else {
        serde_json::to_vec(&json!({ "errors": &response.errors }))
    };
    let body = written.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a GraphQL response could not be serialised");
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::Internal,
            "internal error; the server log has the details",
        )
        .body()
        .to_string()
        .into_bytes()
    });
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_first_type_we_can_send() {
        use MediaType::*;
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("*/*")), Some(Json));
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some("application/json, application/graphql-response+json")),
            Some(Json)
        );
        assert_eq!(
            negotiate(Some(
                "application/json;q=0, application/graphql-response+json"
            )),
            Some(GraphqlResponse)
        );
        assert_eq!(negotiate(Some("text/xml")), None);
    }

    #[test]
    fn bodies_with_wrong_parameter_types_are_refused() {
        assert!(Params::from_body(br#"{"query":"{a}","variables":{"x":1}}"#).is_ok());
        for bad in [
            &br#"{"query":1}"#[..],
            br#"{"query":"{a}","variables":"x"}"#,
            br#"{"query":"{a}","extensions":[]}"#,
            br#"[{"query":"{a}"}]"#,
            br#"{}"#,
            b"not json",
        ] {
            let refused = Params::from_body(bad).unwrap_err();
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
        let persisted = br#"{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}"#;
        assert!(Params::from_body(persisted).is_ok(), "APQ needs no query");
    }

    #[test]
    fn get_parameters_are_read_from_the_url() {
        let p = Params::from_query_string(
            "query=query+Q(%24a%3AInt)%7Ba%7D&operationName=Q&variables=%7B%22a%22%3A1%7D",
        )
        .unwrap();
        assert_eq!(p.query.as_deref(), Some("query Q($a:Int){a}"));
        assert_eq!(p.operation_name.as_deref(), Some("Q"));
        assert_eq!(p.variables.unwrap()["a"], 1);
        assert!(Params::from_query_string("query=%7Ba%7D&variables=nope").is_err());
    }

    #[test]
    fn mutations_over_get_are_refused() {
        let mut r = Request::new("mutation { a }");
        assert_eq!(
            refuse_get_mutation(&mut r).unwrap_err().status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        let mut r = Request::new("query Q { a } mutation M { b }").operation_name("Q");
        assert!(refuse_get_mutation(&mut r).is_ok());
        let mut r = Request::new("{ a }");
        assert!(refuse_get_mutation(&mut r).is_ok());
    }
}
