//! Metrics: the figures supervisors and wallboards watch. `live` is what the floor looks like
//! now; history, SLA policies and the pushed wallboard build on it.

pub mod live;
