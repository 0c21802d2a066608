//! Access rules in GraphQL terms: reads are open; every mutation needs a
//! key with the `write` role, admin operations (writing the index snapshot,
//! say) the `admin` role. Keys travel as `Authorization: Bearer KEY` or
//! `X-Api-Key: KEY` and are checked by [`crate::auth`]; the transport
//! attaches the [`Caller`] and the [`Transport`] to each request.

use async_graphql::Context;

use super::error::ApiResult;
use crate::auth::Caller;
use crate::config::Role;
use crate::error::Error;

/// How a GraphQL request arrived. Mutations are refused over GET, so that a
/// link or an image tag can never change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Get,
    Post,
    WebSocket,
}

/// Checks that the request may perform an operation needing `role`.
///
/// # Errors
/// `UNAUTHENTICATED` without a valid key, `FORBIDDEN` for a key whose role
/// is too low, `METHOD_NOT_ALLOWED` for a mutation sent over GET.
pub fn require(ctx: &Context<'_>, role: Role) -> async_graphql::Result<()> {
    if ctx.data_opt::<Transport>() == Some(&Transport::Get) {
        return Err(Error::MethodNotAllowed(
            "mutations must be sent with POST, not GET".into(),
        ))
        .api();
    }
    ctx.data_opt::<Caller>()
        .unwrap_or(&Caller::Anonymous)
        .require(role)
        .api()
}
