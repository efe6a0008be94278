//! argon2id hashing, off the async runtime (a hash takes tens of milliseconds of CPU).

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A well-formed hash of a password nobody knows: verifying against it costs the same as a
/// real check, so unknown emails take as long as wrong passwords.
const BURN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2HxXq7cXQd3rmEyRr7hTsgiRvHQIqVaqnHBUbrvyaqo";

/// Hashes a password with argon2id and a fresh salt (PHC string).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await
    .context("password hashing task")?
}

/// Verifies a password against a stored hash; with no hash, burns the same time and fails.
pub async fn verify_or_burn(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| BURN_HASH.to_owned());
        let parsed = match PasswordHash::new(&phc) {
            Ok(p) => p,
            Err(_) => return false,
        };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known
    })
    .await
    .context("password verification task")
}

/// Rejects passwords too weak to protect an account that can post for a brand.
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 10 {
        return Err("password must be at least 10 characters");
    }
    if password.len() > 1024 {
        return Err("password must be at most 1024 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() -> anyhow::Result<()> {
        let h = hash("correct horse battery".into()).await?;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_or_burn("correct horse battery".into(), Some(h.clone())).await?);
        assert!(!verify_or_burn("wrong".into(), Some(h)).await?);
        assert!(!verify_or_burn("anything".into(), None).await?);
        Ok(())
    }

    #[test]
    fn burn_hash_parses() {
        assert!(PasswordHash::new(BURN_HASH).is_ok());
    }
}
