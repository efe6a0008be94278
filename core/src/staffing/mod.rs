//! Staffing: how many agents each interval of a plan needs to meet a first-response target, from
//! the forecast volume, the handling time and the agents' concurrency. The arithmetic is
//! [`erlang`] (Erlang C), pure and separate so it can be checked against published worked
//! examples; `docs/staffing.md` explains the model and what it assumes.

pub mod erlang;
pub mod plan;
