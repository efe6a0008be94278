//! sea-orm models of the Chorus store. Models only: the rules live in the `chorus` crate.

pub mod agent;
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
pub mod customer_identity;
pub mod escalation;
pub mod escalation_guide;
pub mod event;
pub mod example_response;
pub mod listening_rule;
pub mod message;
pub mod metric_hour;
pub mod note;
pub mod reply;
pub mod session;
pub mod sla_policy;
pub mod team;
