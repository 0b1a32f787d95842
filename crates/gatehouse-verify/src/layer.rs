//! Tower layers: [`AuthLayer`] guards a whole router (every request needs
//! a valid token), and [`require_scope`] / [`require_role`] demand more of
//! the token a guard let through.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use gatehouse_verify::{Verifier, require_role};
//!
//! fn app(verifier: Verifier) -> Router {
//!     let admin = Router::new()
//!         .route("/admin/stats", get(|| async { "stats" }))
//!         .route_layer(require_role("admin"));
//!     Router::new()
//!         .route("/notes", post(|| async { "created" }))
//!         .merge(admin)
//!         // Outermost, so it runs first: the requirements read its result.
//!         .route_layer(verifier.layer())
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::extract::{CurrentUser, authenticate};
use crate::rejection::AuthRejection;
use crate::verifier::Verifier;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl Verifier {
    /// A layer that lets through only requests with a valid token of this
    /// verifier's issuer; see [`AuthLayer`].
    pub fn layer(&self) -> AuthLayer {
        AuthLayer {
            verifier: self.clone(),
        }
    }
}

/// Guards every route under it: a request without a valid token is
/// answered 401 (503 while keys are unavailable) and never reaches the
/// route. A request that passes carries its [`CurrentUser`] in its
/// extensions, for [`require_scope`], [`require_role`], `Extension<CurrentUser>`
/// and the extractors (which then do not verify again).
///
/// Use it with `Router::route_layer`, so unknown paths stay 404 instead of
/// becoming 401.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Verifier,
}

impl AuthLayer {
    /// The same as [`Verifier::layer`].
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps a route in.
#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B> Service<Request<B>> for Authenticate<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's
        // documented pattern for services that await before calling on).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match authenticate(&verifier, request.headers()).await {
                Ok((user, token)) => {
                    request.extensions_mut().insert(user);
                    request.extensions_mut().insert(token);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

/// What a [`RequireLayer`] demands of the token.
#[derive(Debug)]
enum Requirement {
    Scope(String),
    Role(String),
}

/// Lets through only requests whose token (verified by an [`AuthLayer`]
/// outside it) was granted `scope`; others get 403 `insufficient_scope`
/// (RFC 6750 §3.1), and requests no `AuthLayer` verified get 401.
pub fn require_scope(scope: impl Into<String>) -> RequireLayer {
    RequireLayer {
        requirement: Arc::new(Requirement::Scope(scope.into())),
    }
}

/// Lets through only requests whose user holds `role`; others get 403
/// `insufficient_scope`, and requests no [`AuthLayer`] verified get 401.
pub fn require_role(role: impl Into<String>) -> RequireLayer {
    RequireLayer {
        requirement: Arc::new(Requirement::Role(role.into())),
    }
}

/// The layer of [`require_scope`] and [`require_role`].
#[derive(Debug, Clone)]
pub struct RequireLayer {
    requirement: Arc<Requirement>,
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Require<S> {
        Require {
            inner,
            requirement: self.requirement.clone(),
        }
    }
}

/// The service [`RequireLayer`] wraps a route in.
#[derive(Debug, Clone)]
pub struct Require<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S, B> Service<Request<B>> for Require<S>
where
    S: Service<Request<B>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let verdict = match request.extensions().get::<CurrentUser>() {
            None => Err(AuthRejection::missing_token()),
            Some(user) => match &*self.requirement {
                Requirement::Scope(scope) => user.require_scope(scope),
                Requirement::Role(role) => user.require_role(role),
            },
        };
        match verdict {
            // No await between the check and the call: the inner service
            // is called while it is still ready.
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(rejection) => Box::pin(async move { Ok(rejection.into_response()) }),
        }
    }
}
