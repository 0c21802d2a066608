//! Parsed GraphQL documents, kept by their text. Clients send the same few
//! documents again and again with new variables; parsing one (async-graphql
//! uses a pest grammar) took about a tenth of a `similar(first: 10)` request
//! in a profile under load, and cloning a parsed document costs far less.

use std::num::NonZeroUsize;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::Request;
use parking_lot::Mutex;

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
    /// (a document that does not parse is left for execution to report),
    /// and returns the name of the operation it runs, for metrics: the one
    /// it names, or the only one the document holds.
    pub fn prepare(&self, request: &mut Request) -> Option<String> {
        if request.query.is_empty() {
            return request.operation_name.clone(); // a persisted query, by hash
        }
        let cacheable = self
            .documents
            .as_ref()
            .filter(|_| request.query.len() <= MAX_DOCUMENT_BYTES);
        let cached = cacheable.and_then(|c| c.lock().get(&request.query).cloned());
        match cached {
            Some(document) => request.set_parsed_query(document),
            None => {
                let parsed = request.parsed_query().ok().cloned();
                if let (Some(cache), Some(document)) = (cacheable, parsed) {
                    cache.lock().put(request.query.clone(), document);
                }
            }
        }
        if request.operation_name.is_some() {
            return request.operation_name.clone();
        }
        match &request.parsed_query().ok()?.operations {
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(|name| name.to_string())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_named() {
        let cache = DocumentCache::new(2);
        let mut first = Request::new("query Named { a }");
        assert_eq!(cache.prepare(&mut first).as_deref(), Some("Named"));
        let mut again = Request::new("query Named { a }");
        assert_eq!(cache.prepare(&mut again).as_deref(), Some("Named"));
        assert_eq!(cache.documents.as_ref().unwrap().lock().len(), 1);
        let mut anonymous = Request::new("{ a }");
        assert_eq!(cache.prepare(&mut anonymous), None);
        let mut broken = Request::new("{ a ");
        assert_eq!(cache.prepare(&mut broken), None);
        assert_eq!(
            cache.documents.as_ref().unwrap().lock().len(),
            2,
            "errors are not kept"
        );
    }
}
