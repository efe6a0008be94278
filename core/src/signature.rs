//! HMAC-SHA256 signatures, one place for all: the networks sign their deliveries with it (Meta,
//! X and X's CRC), and Chorus signs what it sends (outgoing webhooks, CRM lookups) as
//! `X-Chorus-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the
//! scheme Stripe made familiar: the timestamp is inside the MAC, so a receiver that refuses old
//! timestamps cannot be fed a recorded delivery again later.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

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

/// The header name.
pub const HEADER: &str = "X-Chorus-Signature";

fn signed_payload(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(body.len() + 12);
    data.extend_from_slice(timestamp.to_string().as_bytes());
    data.push(b'.');
    data.extend_from_slice(body);
    data
}

/// The header value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), &signed_payload(timestamp, body));
    format!("t={timestamp},v1={}", hex::encode(mac))
}

/// What a receiver does: whether `header` signs `body` with `secret`, at a timestamp no more
/// than `tolerance_secs` away from `now` (unix seconds). Compares in constant time.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut macs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => macs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let data = signed_payload(t, body);
    macs.iter().any(|mac| verify_hmac_sha256(secret.as_bytes(), &data, mac))
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
    fn signs_the_timestamp_and_the_body() {
        let body = br#"{"id":"7","event":"reply.sent"}"#;
        let header = signature("whsec_test", 1_700_000_000, body);
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_test",
        //   b"1700000000.{\"id\":\"7\",\"event\":\"reply.sent\"}",hashlib.sha256).hexdigest())'
        assert_eq!(header, "t=1700000000,v1=0c0077ebacdae4799bc0198c364eb62e7ea528c3a0dfaac4a9297f3658b2a16b");
        assert!(verify("whsec_test", &header, body, 1_700_000_100, 300));
        assert!(!verify("whsec_other", &header, body, 1_700_000_100, 300));
        assert!(!verify("whsec_test", &header, b"{}", 1_700_000_100, 300));
        assert!(!verify("whsec_test", &header, body, 1_700_001_000, 300), "too old");
        let moved = header.replace("t=1700000000", "t=1700000900");
        assert!(!verify("whsec_test", &moved, body, 1_700_000_900, 300), "the timestamp is signed");
        assert!(!verify("whsec_test", "v1=00", body, 1_700_000_000, 300));
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
}
