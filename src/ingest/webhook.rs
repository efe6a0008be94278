//! What the networks' webhooks share: HMAC-SHA256 signatures over the raw body, and the two
//! ways a payload can be bad (not JSON, or JSON of the wrong shape).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A delivery whose signature header is missing or does not match.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature header.
    #[error("missing signature")]
    Missing,
    /// A header that is malformed or does not match the body.
    #[error("invalid signature")]
    Invalid,
}

/// A delivery whose body cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    /// Not JSON at all.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not the shape the network documents.
    #[error("unexpected payload shape: {0}")]
    Shape(String),
}

/// Parses JSON, telling syntax errors (malformed) from data errors (wrong shape).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| PayloadError::Shape(e.to_string()))
}

/// HMAC-SHA256 of `data` with `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an impossible MAC anyway.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Checks `expected` against the HMAC of `data`, in constant time.
pub fn verify_hmac_sha256(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify_hmac_sha256(b"Jefe", b"what do ya want for nothing?", &mac));
        assert!(!verify_hmac_sha256(b"Jefe", b"what do ya want for nothing!", &mac));
        assert!(!verify_hmac_sha256(b"Jefe", b"what do ya want for nothing?", &mac[..31]));
    }

    #[test]
    fn malformed_versus_shape() {
        assert!(matches!(parse_json::<Vec<u8>>(b"{oops"), Err(PayloadError::Malformed(_))));
        assert!(matches!(parse_json::<Vec<u8>>(b"{\"a\":1}"), Err(PayloadError::Shape(_))));
        assert_eq!(parse_json::<Vec<u8>>(b"[1,2]"), Ok(vec![1, 2]));
    }
}
