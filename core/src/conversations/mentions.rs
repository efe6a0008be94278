//! `@mentions` in notes: `@alice` names the agent whose email is `alice@…` (or `@alice@brand.com`
//! the one with that whole email). Mentioned agents are told live on their own topic, wherever
//! they are in the console.

use std::sync::LazyLock;

use entity::agent;
use regex::Regex;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::error::Error;

/// Most agents one note notifies.
pub const MAX_MENTIONS: usize = 20;

static MENTION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\w@.])@([A-Za-z0-9._+-]+(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)?)").ok());

/// The handles a text mentions, lowercased, in order, without repeats (a sentence's final dot
/// is not part of a handle).
pub fn handles(text: &str) -> Vec<String> {
    let Some(re) = MENTION.as_ref() else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for c in re.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let h = m.as_str().trim_end_matches('.').to_lowercase();
        if !h.is_empty() && !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// The active agents a text mentions (at most [`MAX_MENTIONS`]), by id; handles that name
/// nobody are left as plain text.
pub async fn resolve(db: &impl ConnectionTrait, text: &str) -> Result<Vec<i64>, Error> {
    let wanted = handles(text);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let agents: Vec<(i64, String)> = agent::Entity::find()
        .select_only()
        .column(agent::Column::Id)
        .column(agent::Column::Email)
        .filter(agent::Column::Active.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let mut ids = Vec::new();
    for h in &wanted {
        let found = agents.iter().filter(|(_, email)| {
            let email = email.to_lowercase();
            email == *h || email.split('@').next() == Some(h.as_str())
        });
        for (id, _) in found {
            if !ids.contains(id) && ids.len() < MAX_MENTIONS {
                ids.push(*id);
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    #[test]
    fn handles_are_found_in_running_text() {
        assert_eq!(
            super::handles("@Alice can you check? cc @bob.smith, @carol@brand.example. And @alice again."),
            vec!["alice", "bob.smith", "carol@brand.example"]
        );
        assert!(super::handles("mail me at dave@example.com or see #refund").is_empty());
        assert!(super::handles("no mentions here").is_empty());
    }
}
