//! async-graphql extensions, for the schema served over WebSocket (the HTTP
//! layer does the same work around an extension-free schema, see
//! [`super::Checks`]): [`ErrorCodes`] gives every error a code,
//! including the ones async-graphql raises itself (syntax, validation,
//! limits, argument coercion, persisted queries), so that clients can always
//! branch on `extensions.code`; [`DocumentRules`] refuses documents with
//! more aliases than allowed (aliases let one small request run a costly
//! field many times over) and, where introspection is switched off,
//! documents that ask for `__schema` or `__type` (async-graphql would
//! answer them with a silent null).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Variables};

use super::error::{ensure_code, validation_code, Code};

/// Factory of [`ErrorCodes`].
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    /// Persisted-query errors come from async-graphql's APQ extension, which
    /// runs inside this one; Apollo clients look for these codes.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        next.run(ctx, request).await.map_err(|e| {
            let code = if e.message == "PersistedQueryNotFound" {
                Code::PersistedQueryNotFound
            } else {
                Code::BadRequest
            };
            ensure_code(e, code)
        })
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| ensure_code(e, Code::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let code = validation_code(&e);
                    ensure_code(e, code)
                })
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        // Errors without a code at this stage come from async-graphql
        // coercing arguments (e.g. a string where an Int belongs); ours
        // always carry one.
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| ensure_code(e, Code::InvalidArgument))
            .collect();
        response
    }
}

/// Checks on a parsed document that async-graphql does not make.
#[derive(Clone, Copy)]
pub struct DocumentRules {
    pub max_aliases: usize,
    pub introspection: bool,
}

impl ExtensionFactory for DocumentRules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for DocumentRules {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.check(&document)?;
        Ok(document)
    }
}

impl DocumentRules {
    /// Refuses `document` when it breaks a rule, with the error's code.
    /// The extension runs it inside the schema; the HTTP layer, whose
    /// schema has no extensions, runs it itself.
    ///
    /// # Errors
    /// `QUERY_TOO_COMPLEX` for too many aliases, `GRAPHQL_VALIDATION_FAILED`
    /// for introspection where it is switched off.
    pub fn check(&self, document: &ExecutableDocument) -> ServerResult<()> {
        let aliases = count_aliases(document);
        if aliases > self.max_aliases {
            return Err(ensure_code(
                ServerError::new(
                    format!(
                        "the request uses {aliases} aliases; at most {} are allowed",
                        self.max_aliases
                    ),
                    None,
                ),
                Code::QueryTooComplex,
            ));
        }
        if !self.introspection && asks_for_introspection(document) {
            return Err(ensure_code(
                ServerError::new("introspection is switched off on this server", None),
                Code::GraphqlValidationFailed,
            ));
        }
        Ok(())
    }
}

/// Whether any operation selects `__schema` or `__type` at its root
/// (directly, in an inline fragment or through a named fragment).
fn asks_for_introspection(document: &ExecutableDocument) -> bool {
    fn in_set(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
        depth < 8
            && set.items.iter().any(|item| match &item.node {
                Selection::Field(field) => {
                    matches!(field.node.name.node.as_str(), "__schema" | "__type")
                }
                Selection::InlineFragment(fragment) => {
                    in_set(document, &fragment.node.selection_set.node, depth + 1)
                }
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .is_some_and(|f| in_set(document, &f.node.selection_set.node, depth + 1)),
            })
    }
    document
        .operations
        .iter()
        .any(|(_, op)| in_set(document, &op.node.selection_set.node, 0))
}

/// Aliases in every operation and fragment definition of `document`.
fn count_aliases(document: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + in_set(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| in_set(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: track(id: 1) { n: name } b: track(id: 2) { ...F } ... on Query { c: genres { name } } }
             fragment F on Track { x: id y: name }",
        )
        .unwrap();
        assert_eq!(count_aliases(&doc), 6);
        let none = async_graphql::parser::parse_query("{ genres { name } }").unwrap();
        assert_eq!(count_aliases(&none), 0);
    }

    #[test]
    fn introspection_is_found_at_the_root_and_through_fragments() {
        let asks =
            |q: &str| asks_for_introspection(&async_graphql::parser::parse_query(q).unwrap());
        assert!(asks("{ __schema { types { name } } }"));
        assert!(asks(
            "query { ...F } fragment F on Query { __type(name: \"Track\") { name } }"
        ));
        assert!(!asks("{ __typename genres { name } }"));
    }
}
