//! Parsed GraphQL documents, kept by their text. Clients send the same few
//! documents again and again with new variables; parsing one (async-graphql
//! uses a pest grammar) took about a tenth of a `similar(first: 10)` request
//! in a profile under load, and cloning a parsed document costs far less.

use std::num::NonZeroUsize;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Request, ServerError};
use parking_lot::Mutex;

use crate::api::error::{ensure_code, Code};

/// Longest document kept; longer ones are parsed every time, so a client
/// cannot fill the cache with a few huge texts.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

/// An LRU cache of parsed documents, shared by every worker.
pub struct DocumentCache {
    documents: Option<Mutex<lru::LruCache<String, ExecutableDocument>>>,
}

impl DocumentCache {
    /// A cache of at most `capacity` documents; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        DocumentCache {
            documents: NonZeroUsize::new(capacity).map(|c| Mutex::new(lru::LruCache::new(c))),
        }
    }

    /// Gives `request` its parsed document, from the cache or by parsing
    /// (a persisted query comes parsed already), and returns the name of
    /// the operation it runs, for metrics: the one it names, or the only
    /// one the document holds.
    ///
    /// # Errors
    /// `GRAPHQL_PARSE_FAILED` for a document that does not parse (not kept).
    pub fn prepare(&self, request: &mut Request) -> Result<Option<String>, ServerError> {
        if !request.query.is_empty() {
            let cacheable = self
                .documents
                .as_ref()
                .filter(|_| request.query.len() <= MAX_DOCUMENT_BYTES);
            let cached = cacheable.and_then(|c| c.lock().get(&request.query).cloned());
            match cached {
                Some(document) => request.set_parsed_query(document),
                None => {
                    let document = request
                        .parsed_query()
                        .map_err(|e| ensure_code(e, Code::GraphqlParseFailed))?;
                    if let Some(cache) = cacheable {
                        let document = document.clone();
                        cache.lock().put(request.query.clone(), document);
                    }
                }
            }
        }
        if request.operation_name.is_some() {
            return Ok(request.operation_name.clone());
        }
        let document = request
            .parsed_query()
            .map_err(|e| ensure_code(e, Code::GraphqlParseFailed))?;
        Ok(match &document.operations {
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(|name| name.to_string())
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_named() {
        let cache = DocumentCache::new(2);
        let mut first = Request::new("query Named { a }");
        assert_eq!(cache.prepare(&mut first).unwrap().as_deref(), Some("Named"));
        let mut again = Request::new("query Named { a }");
        assert_eq!(cache.prepare(&mut again).unwrap().as_deref(), Some("Named"));
        assert_eq!(cache.documents.as_ref().unwrap().lock().len(), 1);
        let mut anonymous = Request::new("{ a }");
        assert_eq!(cache.prepare(&mut anonymous).unwrap(), None);
        let mut broken = Request::new("{ a ");
        let err = cache.prepare(&mut broken).unwrap_err();
        assert_eq!(Code::of(&err), Some(Code::GraphqlParseFailed));
        assert_eq!(
            cache.documents.as_ref().unwrap().lock().len(),
            2,
            "errors are not kept"
        );
    }
}
