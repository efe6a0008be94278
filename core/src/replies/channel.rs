//! Channels: how a reply leaves Chorus. One trait, so the sender does not care which network it
//! talks to; the `sandbox` channel (the embedded default) records what would have been sent.

use futures_util::future::BoxFuture;

/// One reply, addressed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The reply (for logs and the sandbox's record).
    pub reply_id: i64,
    /// `x`, `facebook`, `instagram`, `whatsapp`.
    pub network: String,
    /// `public` (a reply in the thread) or `private` (a direct message).
    pub visibility: String,
    /// The brand's account on the network.
    pub brand_account: String,
    /// The customer's id on the network.
    pub customer: String,
    /// The network's id of the message answered (public replies thread under it).
    pub in_reply_to: Option<String>,
    /// What to say.
    pub text: String,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again (timeouts, 5xx, rate limits).
    Transient(String),
    /// Trying again would fail the same way (refused content, revoked access).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "transient: {m}"),
            SendError::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

/// A way out to the networks.
pub trait Channel: Send + Sync {
    /// Sends; returns the id the network gave the message.
    fn send<'a>(&'a self, out: &'a Outgoing) -> BoxFuture<'a, Result<String, SendError>>;
}

/// Sends nothing: records the reply in the log and answers with an id of its own, so a demo or
/// a test runs the whole reply path (outbox, sender, message, events) without a network.
#[derive(Debug, Default)]
pub struct Sandbox;

impl Channel for Sandbox {
    fn send<'a>(&'a self, out: &'a Outgoing) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            tracing::info!(
                reply_id = out.reply_id,
                network = %out.network,
                visibility = %out.visibility,
                to = %out.customer,
                in_reply_to = ?out.in_reply_to,
                "sandbox: reply not sent to the network (sandbox channel)"
            );
            Ok(format!("sandbox-{}", uuid::Uuid::new_v4().simple()))
        })
    }
}

/// The longest text each network takes for a reply of this visibility, in characters (their
/// documented limits), so an agent hears "too long" at once instead of a failed send later.
pub fn max_chars(network: &str, visibility: &str) -> Option<usize> {
    match (network, visibility) {
        ("x", "public") => Some(280),
        ("x", "private") => Some(10_000),
        ("facebook", "public") => Some(8_000),
        ("facebook", "private") => Some(2_000),
        ("instagram", "public") => Some(2_200),
        ("instagram", "private") => Some(1_000),
        ("whatsapp", "private") => Some(4_096),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_networks_and_whatsapp_has_no_public_side() {
        assert_eq!(max_chars("x", "public"), Some(280));
        assert_eq!(max_chars("whatsapp", "private"), Some(4_096));
        assert_eq!(max_chars("whatsapp", "public"), None);
        assert_eq!(max_chars("myspace", "private"), None);
    }
}
