//! Metrics: the figures supervisors and wallboards watch. `facts` says what each event does to
//! the counters, `tally` keeps the hourly aggregates, `live` is what the floor looks like now,
//! `history` reads the aggregates back by hour or day, `wallboard` pushes the live figures.

pub mod facts;
pub mod handling;
pub mod history;
pub mod live;
pub mod tally;
pub mod wallboard;
