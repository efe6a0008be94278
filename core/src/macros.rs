//! Macros: an example response made ready for one conversation and one agent. The composer
//! inserts the text (the agent may still change it) and, when that reply is sent, takes the
//! example's actions. The text goes out through the ordinary reply path, so the approval rules
//! and the private-details guard see exactly what a macro wrote.
//!
//! Variables are written `{{name}}`: `customer.first_name`, `customer.handle`,
//! `agent.first_name`, `brand.name` and `order_ref` (the newest order reference the customer
//! gave in this conversation). One with no value here stays in the text as written and is
//! named in `missing`, so the composer can point at it rather than send a reply with a hole.

use entity::{brand_account, conversation, customer_identity, message};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;
use crate::example_responses::{self, ListQuery, MacroActions};

/// The variables a macro may use, as written between the braces.
pub const VARIABLES: [&str; 5] =
    ["customer.first_name", "customer.handle", "agent.first_name", "brand.name", "order_ref"];

/// A macro ready to insert.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Rendered {
    /// The example response's id.
    pub id: i64,
    /// Its topic.
    pub topic: String,
    /// Its title.
    pub title: String,
    /// How to adapt it.
    pub tone_notes: Option<String>,
    /// The text with every variable that has a value filled in.
    pub text: String,
    /// What sending it also does.
    pub actions: MacroActions,
    /// Variables the text uses that have no value here (left as `{{name}}`).
    pub missing: Vec<String>,
}

/// The values of the variables for one conversation and agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values {
    /// The customer's first name.
    pub customer_first_name: Option<String>,
    /// The customer's handle with its `@`.
    pub customer_handle: Option<String>,
    /// The agent's first name.
    pub agent_first_name: Option<String>,
    /// The brand account's name.
    pub brand_name: Option<String>,
    /// The newest order reference the customer gave.
    pub order_ref: Option<String>,
}

impl Values {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "customer.first_name" => self.customer_first_name.as_deref(),
            "customer.handle" => self.customer_handle.as_deref(),
            "agent.first_name" => self.agent_first_name.as_deref(),
            "brand.name" => self.brand_name.as_deref(),
            "order_ref" => self.order_ref.as_deref(),
            _ => None,
        }
    }
}

/// The first word of a name, unless the "name" is only a handle (networks give `@dana` as a
/// display name when the person set none): greeting someone as "@dana" reads as a bot.
fn first_name(name: &str) -> Option<String> {
    let first = name.split_whitespace().next()?;
    (!first.starts_with('@')).then(|| first.to_owned())
}

fn with_at(handle: &str) -> Option<String> {
    let h = handle.trim().trim_start_matches('@');
    (!h.is_empty()).then(|| format!("@{h}"))
}

/// Fills `{{name}}` variables in `body`; returns the text and the names left unfilled (each
/// once, in order). Unknown names are left alone and reported too.
pub fn render(body: &str, values: &Values) -> (String, Vec<String>) {
    let mut out = String::with_capacity(body.len());
    let mut missing: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else { break };
        let name = rest[open + 2..open + 2 + close].trim();
        out.push_str(&rest[..open]);
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => {
                out.push_str(&rest[open..open + 2 + close + 2]);
                if !missing.iter().any(|m| m == name) {
                    missing.push(name.to_owned());
                }
            }
        }
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    (out, missing)
}

/// The variables' values for `conversation_id` as `agent_name` would write to it.
pub async fn values(db: &impl ConnectionTrait, conversation_id: i64, agent_name: &str) -> Result<Values, Error> {
    let c = conversation::Entity::find_by_id(conversation_id).one(db).await?.ok_or(Error::NotFound("conversation"))?;
    // The name the network gave (a display name Chorus made up from a handle or an id is no
    // name to greet someone by).
    let identity: Option<(Option<String>, Option<String>)> = customer_identity::Entity::find()
        .select_only()
        .columns([customer_identity::Column::Name, customer_identity::Column::Handle])
        .filter(customer_identity::Column::CustomerId.eq(c.customer_id))
        .filter(customer_identity::Column::Network.eq(c.network.as_str()))
        .order_by_asc(customer_identity::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    let (customer_name, identity_handle) = identity.unwrap_or_default();
    let brand_name: Option<String> = brand_account::Entity::find_by_id(c.brand_account_id)
        .select_only()
        .column(brand_account::Column::Name)
        .into_tuple()
        .one(db)
        .await?;
    let texts: Vec<String> = message::Entity::find()
        .select_only()
        .column(message::Column::Text)
        .filter(message::Column::ConversationId.eq(c.id))
        .filter(message::Column::Direction.eq("inbound"))
        .filter(message::Column::DeletedAt.is_null())
        .order_by_desc(message::Column::SentAt)
        .order_by_desc(message::Column::Id)
        .limit(50)
        .into_tuple()
        .all(db)
        .await?;
    let order_ref = texts
        .iter()
        .find_map(|t| crate::customers::details::find(t).into_iter().find(|f| f.kind == "order").map(|f| f.value));
    Ok(Values {
        customer_first_name: customer_name.as_deref().and_then(first_name),
        customer_handle: c.customer_handle.as_deref().or(identity_handle.as_deref()).and_then(with_at),
        agent_first_name: first_name(agent_name),
        brand_name: brand_name.filter(|n| !n.trim().is_empty()),
        order_ref,
    })
}

/// The library (filtered by `q`, as `GET /api/v1/example-responses` filters it) rendered for
/// one conversation and agent.
pub async fn for_conversation(
    db: &impl ConnectionTrait,
    conversation_id: i64,
    agent_name: &str,
    q: &ListQuery,
) -> Result<Vec<Rendered>, Error> {
    let values = values(db, conversation_id, agent_name).await?;
    let library = example_responses::list(db, q).await?;
    Ok(library
        .into_iter()
        .map(|e| {
            let (text, missing) = render(&e.spec.body, &values);
            Rendered {
                id: e.id,
                topic: e.spec.topic,
                title: e.spec.title,
                tone_notes: e.spec.tone_notes,
                text,
                actions: e.spec.actions,
                missing,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_fill_and_the_unknown_stay_visible() {
        let v = Values {
            customer_first_name: Some("Dana".into()),
            customer_handle: Some("@dana_k".into()),
            agent_first_name: Some("Sam".into()),
            brand_name: Some("Acme Air".into()),
            order_ref: None,
        };
        let (text, missing) = render(
            "Hi {{customer.first_name}} ({{ customer.handle }}), {{agent.first_name}} at {{brand.name}} here. Order {{order_ref}}? {{order_ref}} {{nope}} {{",
            &v,
        );
        assert_eq!(text, "Hi Dana (@dana_k), Sam at Acme Air here. Order {{order_ref}}? {{order_ref}} {{nope}} {{");
        assert_eq!(missing, vec!["order_ref".to_owned(), "nope".to_owned()]);
    }

    #[test]
    fn names_and_handles() {
        assert_eq!(first_name("Dana Kowalski").as_deref(), Some("Dana"));
        assert_eq!(first_name("@dana"), None);
        assert_eq!(first_name("  "), None);
        assert_eq!(with_at("dana").as_deref(), Some("@dana"));
        assert_eq!(with_at("@dana").as_deref(), Some("@dana"));
        assert_eq!(with_at(" @ "), None);
    }
}
