//! What the networks' webhooks share: HMAC-SHA256 signatures over the raw body, and the two
//! ways a payload can be bad (not JSON, or JSON of the wrong shape).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Why a delivery's signature was refused. Missing and invalid are told apart so a
/// misconfigured proxy that strips the header is easy to see in the logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature header.
    #[error("missing webhook signature header")]
    Missing,
    /// A header that is malformed (prefix, encoding, length) or does not match the body.
    #[error("invalid webhook signature")]
    Invalid,
}

/// Why a signed delivery's body cannot be used. Kept in two kinds because they answer
/// differently: unparseable bytes point at transport or a bug upstream; valid JSON of the
/// wrong shape points at an API change or a subscription Chorus does not handle.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    /// Not JSON at all (a syntax error or a truncated body).
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not the shape the network documents (missing field, wrong type, unknown
    /// `object`).
    #[error("unexpected payload shape: {0}")]
    Shape(String),
}

/// Parses JSON into `T`, in two steps so that a syntax error (malformed) is told from a data
/// error (wrong shape): a single typed parse reports both as one error kind.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| PayloadError::Shape(e.to_string()))
}

/// HMAC-SHA256 of `data` with `key`: what both networks sign deliveries (and X its CRC) with.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail; the fallback only avoids a panic path.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Whether `expected_mac` is the HMAC-SHA256 of `data` with `key`, compared in constant time
/// so a forger cannot learn the right MAC byte by byte from response timing. A MAC of the
/// wrong length never matches.
pub fn verify_hmac_sha256(key: &[u8], data: &[u8], expected_mac: &[u8]) -> bool {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(expected_mac).is_ok()
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
        assert!(!verify_hmac_sha256(b"Jeff", b"what do ya want for nothing?", &mac));
        assert!(!verify_hmac_sha256(b"Jefe", b"what do ya want for nothing?", &mac[..31]));
        assert!(!verify_hmac_sha256(b"Jefe", b"what do ya want for nothing?", &[]));
    }

    #[test]
    fn rfc4231_case_6_key_longer_than_a_block() {
        // RFC 4231 test case 6: a 131-byte key of 0xaa is hashed first.
        let key = [0xaa_u8; 131];
        let mac = hmac_sha256(&key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn empty_key_still_signs() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"",b"",hashlib.sha256).hexdigest())'
        assert_eq!(
            hex::encode(hmac_sha256(b"", b"")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        );
    }

    #[test]
    fn malformed_versus_shape() {
        assert!(matches!(parse_json::<Vec<u8>>(b"{oops"), Err(PayloadError::Malformed(_))));
        assert!(matches!(parse_json::<Vec<u8>>(b"[1,2"), Err(PayloadError::Malformed(_))));
        assert!(matches!(parse_json::<Vec<u8>>(b""), Err(PayloadError::Malformed(_))));
        assert!(matches!(parse_json::<Vec<u8>>(b"{\"a\":1}"), Err(PayloadError::Shape(_))));
        assert!(matches!(parse_json::<Vec<u8>>(b"[1,-2]"), Err(PayloadError::Shape(_))));
        assert_eq!(parse_json::<Vec<u8>>(b"[1,2]"), Ok(vec![1, 2]));
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(SignatureError::Missing.to_string(), "missing webhook signature header");
        assert_eq!(SignatureError::Invalid.to_string(), "invalid webhook signature");
        let Err(e) = parse_json::<Vec<u8>>(b"{\"a\":1}") else { panic!("expected an error") };
        assert!(e.to_string().starts_with("unexpected payload shape: invalid type"), "{e}");
    }
}
