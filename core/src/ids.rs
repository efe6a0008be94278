//! Typed ids for the values claims and leases are made of.
//!
//! A claim is three integers: which conversation, which agent, which fencing token. As bare
//! `i64`s they swap silently (`release(db, live, agent, conversation, token)` compiles and
//! releases somebody else's lease); as these types the compiler refuses the swap.
//!
//! They are plain integers on the wire, in Redis and in the store: serde is transparent, and
//! sea-orm reads and writes them as the column's integer (`Column::Id.eq(id)` takes one). In
//! OpenAPI schemas a field of one of these types says `#[schema(value_type = i64)]`.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
            sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The integer as the store and the wire carry it.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type! {
    /// A conversation (`conversations.id`).
    ConversationId
}

id_type! {
    /// An agent (`agents.id`).
    AgentId
}

id_type! {
    /// A fencing token: each new grant of a conversation gets one above every earlier grant's,
    /// and the store refuses writes carrying an older one (`conversations.fence_token`).
    FenceToken
}

impl FenceToken {
    /// No grant yet: every real token is above it.
    pub const NONE: Self = Self(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_integers_on_the_wire() {
        let held = (ConversationId(7), AgentId(3), FenceToken(12));
        let json = serde_json::to_string(&held).unwrap_or_default();
        assert_eq!(json, "[7,3,12]");
        let back: (ConversationId, AgentId, FenceToken) = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, held);
        assert_eq!(ConversationId(7).to_string(), "7");
    }
}
