//! The HTTP client every provider request goes through (discovery, JWKS, the token
//! endpoint): synchronous (ureq), **no redirects** (a provider URL cannot be bent into a
//! request elsewhere: SSRF), a deadline on every request, bodies capped at 1 MiB, and an
//! error status handed back as a response so the OAuth error in its body is read.

use std::io::Read;
use std::time::Duration;

use openidconnect::http::{self, HeaderValue, header::CONTENT_TYPE};
use openidconnect::{HttpRequest, HttpResponse};

/// The largest response body read from a provider.
const MAX_BODY: u64 = 1 << 20;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct HttpError(String);

pub(super) struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub(super) fn new(timeout: Duration) -> Http {
        let agent = ureq::AgentBuilder::new().redirects(0).timeout(timeout).build();
        Http { agent }
    }

    pub(super) fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.uri().to_string();
        let mut outgoing = self.agent.request(request.method().as_str(), &url);
        for (name, value) in request.headers() {
            let value = value.to_str().map_err(|_| HttpError(format!("bad header {name}")))?;
            outgoing = outgoing.set(name.as_str(), value);
        }
        let response = match outgoing.send_bytes(request.body()) {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(e)) => return Err(HttpError(format!("{url}: {e}"))),
        };
        let status = response.status();
        let content_type = response.header(CONTENT_TYPE.as_str()).map(str::to_owned);
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| HttpError(format!("{url}: {e}")))?;
        if body.len() as u64 > MAX_BODY {
            return Err(HttpError(format!("{url}: the response is larger than 1 MiB")));
        }
        let mut builder = http::Response::builder().status(status);
        if let Some(value) = content_type.and_then(|v| HeaderValue::from_str(&v).ok()) {
            builder = builder.header(CONTENT_TYPE, value);
        }
        builder.body(body).map_err(|e| HttpError(format!("{url}: {e}")))
    }
}
