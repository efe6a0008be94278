//! The process's TLS crypto provider. reqwest is built without one (`rustls-no-provider`) so
//! that ring, which the store's driver already links, is the only one: aws-lc would add a C
//! build for nothing.

/// Makes ring the process-wide rustls provider; calling it again does nothing. Called before
/// any reqwest client is built: at the start of the command line and of every node's state
/// (tests build nodes without the command line).
pub fn install_crypto_provider() {
    // Err means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
