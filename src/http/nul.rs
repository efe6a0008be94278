//! U+0000 refused at the edge, the same way on every store.
//!
//! JSON may carry a NUL (`\u0000`) and SQLite stores it, but PostgreSQL's `text` cannot hold
//! one: a login email, note, reply, name, search query or filter with a NUL would reach the
//! store and fail there (a 500, even before login). No agent or integration means to send one,
//! so the API refuses it with `400 validation` before anything reads the request: a `%00` in
//! the path or query, a NUL (raw or escaped) in the body. The body is checked as it streams, so
//! nothing is buffered twice. A customer's words are never refused (a network's webhook
//! delivery, a message an ingest bridge forwards): ingest strips NUL from what it stores
//! ([`NormalizedMessage::sanitize`]).
//! WebSocket commands are checked in `ws::protocol::parse`.
//!
//! [`NormalizedMessage::sanitize`]: chorus_core::ingest::normalized::NormalizedMessage::sanitize

use chorus_core::Error;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::Stream;

use crate::http::error::ApiError;

/// A request body as actix streams it.
type Boxed = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// The message every refusal carries.
pub const REFUSED: &str = "text must not contain U+0000 (NUL)";

/// The error a scanned body stream yields; [`ApiError::from_payload`] turns it into
/// `400 validation`.
#[derive(Debug, thiserror::Error)]
#[error("{REFUSED}")]
pub struct NulInBody;

/// The middleware (on every route but the webhooks').
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let uri = req.uri();
    if has_encoded_nul(uri.path()) || uri.query().is_some_and(has_encoded_nul) {
        return Err(ApiError::Domain(Error::Validation(REFUSED.into())).into());
    }
    // Customers' words (webhooks, the ingest API) are stripped instead (see above); a
    // WebSocket's body is its frame stream, checked command by command once decoded.
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let customers_words = req.path().starts_with("/webhooks/") || req.path().starts_with("/api/v1/ingest/");
    if !upgrade && !customers_words && req.path() != "/ws" {
        let mut payload = req.take_payload();
        // A compressed body is scanned as the handler will read it: decoded here, once.
        let encoded = req
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"));
        if encoded {
            let decoded: Boxed = Box::pin(actix_web::dev::Decompress::from_headers(payload, req.headers()));
            payload = Payload::from(decoded);
            req.headers_mut().remove(header::CONTENT_ENCODING);
            req.headers_mut().remove(header::CONTENT_LENGTH);
        }
        let scanned: Boxed = Box::pin(Scanned { inner: payload, scan: Scan::default() });
        req.set_payload(Payload::from(scanned));
    }
    next.call(req).await
}

/// A `%00` in a URL part (percent-encoding's hex digits of NUL have no case).
fn has_encoded_nul(s: &str) -> bool {
    s.contains("%00")
}

/// Whether a WebSocket command's text holds a NUL, raw or escaped.
pub fn text_has_nul(text: &str) -> bool {
    let mut scan = Scan::default();
    scan.feed(text.as_bytes())
}

/// Finds `\u0000` (and raw NUL bytes) in JSON text fed in pieces. Only a backslash that starts
/// an escape counts: in `\\u0000` the first backslash escapes the second, and the `u0000`
/// after them is literal text.
#[derive(Debug, Default, Clone, Copy)]
enum Scan {
    #[default]
    Text,
    /// Just after a backslash that starts an escape.
    Escape,
    /// Inside `\u`, after this many zero digits.
    Unicode(u8),
}

impl Scan {
    /// True once a NUL has been seen.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            *self = match *self {
                Scan::Text => match memchr::memchr2(b'\\', 0, &bytes[i..]) {
                    None => return false,
                    Some(at) => {
                        i += at;
                        if bytes[i] == 0 {
                            return true;
                        }
                        Scan::Escape
                    }
                },
                Scan::Escape if b == b'u' => Scan::Unicode(0),
                Scan::Escape => Scan::Text,
                Scan::Unicode(3) if b == b'0' => return true,
                Scan::Unicode(n) if b == b'0' => Scan::Unicode(n + 1),
                Scan::Unicode(_) if b == 0 => return true,
                Scan::Unicode(_) if b == b'\\' => Scan::Escape,
                Scan::Unicode(_) => Scan::Text,
            };
            i += 1;
        }
        false
    }
}

/// A request body that fails as soon as a NUL passes.
struct Scanned {
    inner: Payload,
    scan: Scan,
}

impl Stream for Scanned {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if this.scan.feed(&chunk) {
                    let e = std::io::Error::new(std::io::ErrorKind::InvalidData, NulInBody);
                    return Poll::Ready(Some(Err(PayloadError::Io(e))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(pieces: &[&[u8]]) -> bool {
        let mut s = Scan::default();
        pieces.iter().any(|p| s.feed(p))
    }

    #[test]
    fn escaped_and_raw_nul_are_found_even_across_pieces() {
        assert!(found(&[br#"{"text":"a\u0000b"}"#]));
        assert!(found(&[br#"{"text":"a\u00"#, br#"00b"}"#]));
        assert!(found(&[br#"{"text":"a\"#, br#"u0000"}"#]));
        assert!(found(&[b"{\"text\":\"a\0\"}"]));
        assert!(found(&[br#"{"a":"\n\\\u0000"}"#]));
    }

    #[test]
    fn escaped_backslashes_and_other_escapes_are_not_nul() {
        assert!(!found(&[br#"{"text":"a\\u0000b"}"#]));
        assert!(!found(&[br#"{"text":"\\"#, br#"u0000"}"#]));
        assert!(!found(&[br#"{"text":"\u0001 \u00e9 \u1000 \"u0000\""}"#]));
        assert!(!found(&[br#"{"text":"plain u0000 %00"}"#]));
    }

    #[test]
    fn websocket_text_is_checked_the_same_way() {
        assert!(text_has_nul(r#"{"type":"note","text":"\u0000"}"#));
        assert!(!text_has_nul(r#"{"type":"note","text":"\\u0000"}"#));
    }
}
