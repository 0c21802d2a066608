//! Automatic persisted queries (Apollo's APQ protocol): a client sends the
//! SHA-256 of its document instead of the document, and sends the document
//! with its hash once when the server answers `PERSISTED_QUERY_NOT_FOUND`.
//! Saves upload bandwidth on mobile clients and lets GET requests with a
//! short URL be cached by CDNs.
//!
//! Documents are kept parsed, by hash, so a persisted request skips the
//! parser too. The hash of a registered document is checked, so no client
//! can file a document under another document's hash.
//!
//! The store is async-graphql's [`LruCacheStorage`], the same one the
//! WebSocket schema's APQ extension uses: a document registered over one
//! transport is found over the other.

use async_graphql::extensions::apollo_persisted_queries::{CacheStorage, LruCacheStorage};
use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

use crate::api::error::{ensure_code, Code};

/// The persisted documents, most recently used first.
pub struct PersistedQueries {
    documents: Option<LruCacheStorage>,
}

impl PersistedQueries {
    /// Persisted queries kept in `documents`; `None` switches APQ off.
    pub fn new(documents: Option<LruCacheStorage>) -> Self {
        PersistedQueries { documents }
    }

    /// Acts on the request's `persistedQuery` extension, if any: a request
    /// with a hash only gets its parsed document from the cache; one with
    /// a document and its hash registers the document.
    ///
    /// # Errors
    /// `PERSISTED_QUERY_NOT_FOUND` for an unknown hash (the client then
    /// sends the document); `BAD_REQUEST` for a malformed extension, a hash
    /// that does not match the document, or APQ switched off;
    /// `GRAPHQL_PARSE_FAILED` for a document being registered that does
    /// not parse.
    pub async fn resolve(&self, request: &mut Request) -> Result<(), ServerError> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let bad = |message: String| ensure_code(ServerError::new(message, None), Code::BadRequest);
        let Some(documents) = &self.documents else {
            return Err(bad(
                "persisted queries are switched off on this server ([http] apq_cache_size = 0); send the query"
                    .into(),
            ));
        };
        let Some(hash) = requested_hash(&extension) else {
            return Err(bad(
                "the `persistedQuery` extension must be {\"version\": 1, \"sha256Hash\": \"<hex>\"}"
                    .into(),
            ));
        };
        if request.query.is_empty() {
            let Some(document) = documents.get(hash.to_string()).await else {
                return Err(ensure_code(
                    ServerError::new("PersistedQueryNotFound", None),
                    Code::PersistedQueryNotFound,
                ));
            };
            request.set_parsed_query(document);
            return Ok(());
        }
        let actual = format!("{:x}", Sha256::digest(request.query.as_bytes()));
        if !actual.eq_ignore_ascii_case(hash) {
            return Err(bad(format!(
                "provided sha does not match query: the query's SHA-256 is {actual}"
            )));
        }
        let document = request
            .parsed_query()
            .map_err(|e| ensure_code(e, Code::GraphqlParseFailed))?
            .clone();
        documents.set(actual, document).await;
        Ok(())
    }
}

/// The hash of a well-formed version-1 extension value.
fn requested_hash(extension: &Value) -> Option<&str> {
    let Value::Object(fields) = extension else {
        return None;
    };
    let version_one =
        matches!(fields.get("version"), Some(Value::Number(n)) if n.as_u64() == Some(1));
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if version_one => Some(hash.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_extension(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        let extension = serde_json::json!({ "version": 1, "sha256Hash": hash });
        request.extensions.0.insert(
            "persistedQuery".into(),
            Value::from_json(extension).unwrap(),
        );
        request
    }

    fn code(err: &ServerError) -> Option<Code> {
        Code::of(err)
    }

    #[tokio::test]
    async fn a_document_registered_with_its_hash_is_found_by_it() {
        let apq = PersistedQueries::new(Some(LruCacheStorage::new(4)));
        let query = "{ genres { name } }";
        let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
        let err = apq
            .resolve(&mut with_extension("", &hash))
            .await
            .unwrap_err();
        assert_eq!(code(&err), Some(Code::PersistedQueryNotFound));
        apq.resolve(&mut with_extension(query, &hash))
            .await
            .unwrap();
        let mut by_hash = with_extension("", &hash);
        apq.resolve(&mut by_hash).await.unwrap();
        assert!(by_hash.parsed_query().is_ok());
        assert!(by_hash.query.is_empty(), "the document came from the cache");
    }

    #[tokio::test]
    async fn wrong_hashes_bad_extensions_and_a_switched_off_cache_are_refused() {
        let apq = PersistedQueries::new(Some(LruCacheStorage::new(4)));
        let err = apq
            .resolve(&mut with_extension("{ genres { name } }", "00"))
            .await
            .unwrap_err();
        assert_eq!(code(&err), Some(Code::BadRequest));
        assert!(err.message.contains("does not match"), "{}", err.message);
        let mut malformed = Request::new("");
        malformed.extensions.0.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({"version": 2})).unwrap(),
        );
        assert_eq!(
            code(&apq.resolve(&mut malformed).await.unwrap_err()),
            Some(Code::BadRequest)
        );
        let off = PersistedQueries::new(None);
        let err = off
            .resolve(&mut with_extension("", "ab"))
            .await
            .unwrap_err();
        assert!(err.message.contains("switched off"), "{}", err.message);
        let mut plain = Request::new("{ a }");
        off.resolve(&mut plain).await.unwrap();
    }
}
