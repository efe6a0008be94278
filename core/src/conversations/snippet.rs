//! What a queue row shows of a conversation without opening it: the newest customer message,
//! on one line and cut short. Ingest keeps it in the row it writes anyway (no join when a queue
//! of thousands is listed); an edit or a deletion on the network rewrites it here, so a
//! withdrawn message's words leave the queue too.

use entity::{conversation, message};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The longest snippet, in characters.
pub const MAX_CHARS: usize = 160;

/// What a queue row shows of a customer message: its first [`MAX_CHARS`] characters on one
/// line; `None` for a message without text (a sticker, an attachment, a deleted post).
pub fn of(text: &str) -> Option<String> {
    // Runs once per customer message on the ingest path: stops at the cut instead of
    // collapsing a whole 20,000-character text first.
    let mut out = String::with_capacity(MAX_CHARS);
    let mut n = 0;
    for word in text.split_whitespace() {
        if n > 0 {
            if n == MAX_CHARS {
                break;
            }
            out.push(' ');
            n += 1;
        }
        for c in word.chars().take(MAX_CHARS - n) {
            out.push(c);
            n += 1;
        }
    }
    (n > 0).then_some(out)
}

/// Sets a conversation's snippet again from its newest customer message that still has words;
/// the row as written when that changed it, `None` when it was already right.
pub async fn refresh(db: &impl ConnectionTrait, conversation_id: i64) -> Result<Option<conversation::Model>, DbErr> {
    let texts: Vec<String> = message::Entity::find()
        .select_only()
        .column(message::Column::Text)
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Direction.eq("inbound"))
        .filter(message::Column::DeletedAt.is_null())
        .order_by_desc(message::Column::SentAt)
        .order_by_desc(message::Column::Id)
        .limit(20)
        .into_tuple()
        .all(db)
        .await?;
    let snippet = texts.iter().find_map(|t| of(t));
    let Some(current) = conversation::Entity::find_by_id(conversation_id).one(db).await? else {
        return Ok(None);
    };
    if current.snippet == snippet {
        return Ok(None);
    }
    let written = conversation::Entity::update_many()
        .col_expr(conversation::Column::Snippet, Expr::value(snippet))
        .filter(conversation::Column::Id.eq(conversation_id))
        .exec_with_returning(db)
        .await?;
    Ok(written.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_cut_short() {
        assert_eq!(of("  Where is\n\n my   order?  ").as_deref(), Some("Where is my order?"));
        assert_eq!(of(" \n "), None);
        let long = "é".repeat(500);
        assert_eq!(of(&long).map(|s| s.chars().count()), Some(MAX_CHARS));
        // The cut is the first MAX_CHARS characters of the text on one line.
        let words = "ab  cd\n".repeat(100);
        let collapsed: String = words.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(of(&words), Some(collapsed.chars().take(MAX_CHARS).collect()));
    }
}
