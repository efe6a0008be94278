//! What the networks' webhooks share: HMAC-SHA256 signatures over the raw body, and the two
//! ways a payload can be bad (not JSON, or JSON of the wrong shape).

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

#[cfg(test)]
mod tests {
    use super::*;

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
