//! An async-graphql extension that gives every error a code, including the
//! ones async-graphql raises itself (syntax, validation, limits, argument
//! coercion), so that clients can always branch on `extensions.code`.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};

use super::error::{ensure_code, Code};

/// Factory of [`ErrorCodes`].
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
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
                    let limit =
                        e.message.contains("nested too deep") || e.message.contains("too complex");
                    let code = if limit {
                        Code::QueryTooComplex
                    } else {
                        Code::GraphqlValidationFailed
                    };
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
