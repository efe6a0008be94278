//! sea-orm models of the Chorus store. Models only: the rules live in the `chorus` crate.

/// A column of named states, stored as its lowercase name (a text column on both stores) and
/// read back as a Rust enum, so a misspelt state fails to compile instead of matching nothing:
/// the enum, its stored names (`as_str`, `parse`, `ALL`) and `Display`, written once.
macro_rules! stored_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
            serde::Serialize, serde::Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $( $(#[$vmeta])* #[sea_orm(string_value = $value)] #[serde(rename = $value)] $variant ),+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and wire) name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value),+ }
            }

            /// The state a stored or submitted name stands for.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod agent;
pub mod agent_status_change;
pub mod alert;
pub mod api_key;
pub mod approval;
pub mod approval_rule;
pub mod audit;
pub mod brand_account;
pub mod conversation;
pub mod crisis;
pub mod crisis_alert;
pub mod crisis_link;
pub mod crisis_response;
pub mod customer;
pub mod customer_detail;
pub mod customer_identity;
pub mod customer_merge;
pub mod customer_note;
pub mod customer_tag;
pub mod escalation;
pub mod escalation_guide;
pub mod event;
pub mod example_response;
pub mod listening_rule;
pub mod mention_lookup;
pub mod merge_suggestion;
pub mod message;
pub mod message_revision;
pub mod metric_hour;
pub mod note;
pub mod reply;
pub mod saved_view;
pub mod session;
pub mod sla_policy;
pub mod team;
pub mod watched_term;
pub mod webhook_cursor;
pub mod webhook_delivery;
pub mod webhook_subscription;
