//! Business hours: weekly opening windows in a time zone, minus holidays. An SLA clock runs only
//! while the brand is open, so a message at 16:55 on a Friday with a one-hour target falls due at
//! 09:55 on Monday, and a wallboard can show in-hours and out-of-hours figures side by side.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Opening hours on some days of the week, in local time (`start` < `end`; `end` may be `24:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// ISO weekdays: 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`, or `24:00` for midnight at the end of the day.
    pub end: String,
}

/// A compiled window: weekday mask and minutes since local midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    days: [bool; 7],
    from: u32,
    to: u32,
}

/// When the brand is open. No windows means always open (24/7).
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    tz: Tz,
    windows: Vec<Open>,
    holidays: HashSet<NaiveDate>,
}

/// Days looked ahead for business time before giving up (a calendar open less than once a
/// year is treated as always open rather than never answering).
const HORIZON_DAYS: i64 = 800;

fn minutes(s: &str) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a time of day (HH:MM)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

impl Calendar {
    /// Always open, in UTC.
    pub fn always() -> Self {
        Self { tz: Tz::UTC, windows: Vec::new(), holidays: HashSet::new() }
    }

    /// Checks and compiles a policy's hours.
    pub fn new(timezone: &str, windows: &[Window], holidays: &[String]) -> Result<Self, String> {
        let tz: Tz = timezone.parse().map_err(|_| format!("{timezone:?} is not an IANA time zone"))?;
        let mut open = Vec::with_capacity(windows.len());
        for w in windows {
            let (from, to) = (minutes(&w.start)?, minutes(&w.end)?);
            if from >= to {
                return Err(format!("opening hours {}–{} end before they start", w.start, w.end));
            }
            if w.days.is_empty() || w.days.iter().any(|d| !(1..=7).contains(d)) {
                return Err("days are ISO weekdays, 1 (Monday) to 7 (Sunday)".into());
            }
            let mut days = [false; 7];
            for d in &w.days {
                days[usize::from(*d - 1)] = true;
            }
            open.push(Open { days, from, to });
        }
        open.sort_by_key(|o| o.from);
        let holidays = holidays
            .iter()
            .map(|h| NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| format!("{h:?} is not a date (YYYY-MM-DD)")))
            .collect::<Result<_, _>>()?;
        Ok(Self { tz, windows: open, holidays })
    }

    /// Whether the calendar has opening hours at all (otherwise it is 24/7).
    pub fn is_always_open(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether `t` falls on one of the holidays (the calendar's local date), open hours or not.
    pub fn is_holiday(&self, t: DateTime<Utc>) -> bool {
        !self.holidays.is_empty() && self.holidays.contains(&t.with_timezone(&self.tz).date_naive())
    }

    /// Whether the brand is open at `t`.
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        if self.windows.is_empty() {
            return true;
        }
        let local = t.with_timezone(&self.tz);
        let date = local.date_naive();
        if self.holidays.contains(&date) {
            return false;
        }
        let wd = local.weekday().num_days_from_monday() as usize;
        let m = local.time().signed_duration_since(NaiveTime::MIN).num_minutes();
        let m = u32::try_from(m).unwrap_or(0);
        self.windows.iter().any(|o| o.days[wd] && o.from <= m && m < o.to)
    }

    /// The instant of local `minute` on `date`; a time skipped by a DST change moves forward
    /// to the first instant that exists.
    fn instant(&self, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
        let day_start = date.and_time(NaiveTime::MIN);
        let mut local = day_start + Duration::minutes(i64::from(minute));
        for _ in 0..4 {
            if let Some(t) = self.tz.from_local_datetime(&local).earliest() {
                return Some(t.with_timezone(&Utc));
            }
            local += Duration::minutes(30);
        }
        None
    }

    /// The instant `budget` of business time after `start`.
    pub fn add(&self, start: DateTime<Utc>, budget: Duration) -> DateTime<Utc> {
        if self.windows.is_empty() || budget <= Duration::zero() {
            return start + budget;
        }
        let mut left = budget;
        let first = start.with_timezone(&self.tz).date_naive();
        for offset in 0..HORIZON_DAYS {
            let date = first + Duration::days(offset);
            if self.holidays.contains(&date) {
                continue;
            }
            let wd = date.weekday().num_days_from_monday() as usize;
            let mut cursor = start;
            for o in self.windows.iter().filter(|o| o.days[wd]) {
                let (Some(open), Some(close)) = (self.instant(date, o.from), self.instant(date, o.to)) else {
                    continue;
                };
                let from = open.max(cursor).max(start);
                if from >= close {
                    continue;
                }
                if close - from >= left {
                    return from + left;
                }
                left -= close - from;
                cursor = close;
            }
        }
        start + budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn weekdays_9_to_5(tz: &str, holidays: &[&str]) -> Calendar {
        let w = Window { days: vec![1, 2, 3, 4, 5], start: "09:00".into(), end: "17:00".into() };
        let h: Vec<String> = holidays.iter().map(|s| (*s).to_owned()).collect();
        Calendar::new(tz, &[w], &h).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_clock_stops_outside_opening_hours() {
        let c = weekdays_9_to_5("Europe/London", &[]);
        // Friday 2026-11-27 16:55 GMT, one hour: 5 minutes on Friday, 55 on Monday.
        assert_eq!(c.add(at("2026-11-27T16:55:00Z"), Duration::hours(1)), at("2026-11-30T09:55:00Z"));
        // Saturday: the whole hour is on Monday.
        assert_eq!(c.add(at("2026-11-28T12:00:00Z"), Duration::minutes(30)), at("2026-11-30T09:30:00Z"));
        // Inside hours: plain addition.
        assert_eq!(c.add(at("2026-11-26T10:00:00Z"), Duration::minutes(30)), at("2026-11-26T10:30:00Z"));
        // Exactly at closing: the next opening.
        assert_eq!(c.add(at("2026-11-26T17:00:00Z"), Duration::minutes(1)), at("2026-11-27T09:01:00Z"));
        // Nine business hours from Thursday 09:00 end at Friday 10:00.
        assert_eq!(c.add(at("2026-11-26T09:00:00Z"), Duration::hours(9)), at("2026-11-27T10:00:00Z"));
        assert!(c.is_open(at("2026-11-26T09:00:00Z")));
        assert!(!c.is_open(at("2026-11-26T17:00:00Z")));
        assert!(!c.is_open(at("2026-11-28T12:00:00Z")));
    }

    /// The example of docs/protocol.md ("SLA policies"), as written there.
    #[test]
    fn the_protocol_example_is_what_the_code_does() {
        let w = |d: Vec<u8>, s: &str, e: &str| Window { days: d, start: s.into(), end: e.into() };
        let uk = Calendar::new(
            "Europe/London",
            &[w(vec![1, 2, 3, 4, 5], "09:00", "17:30"), w(vec![6], "10:00", "14:00")],
            &["2026-12-25".into(), "2026-12-26".into()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let half_hour = Duration::minutes(30);
        // Friday 2026-12-04 16:50: inside hours, due 17:20 the same day.
        assert_eq!(uk.add(at("2026-12-04T16:50:00Z"), half_hour), at("2026-12-04T17:20:00Z"));
        // Friday 17:10: 20 minutes on Friday, 10 on Saturday from 10:00.
        assert_eq!(uk.add(at("2026-12-04T17:10:00Z"), half_hour), at("2026-12-05T10:10:00Z"));
        // Saturday 13:50: 10 minutes on Saturday, 20 on Monday from 09:00.
        assert_eq!(uk.add(at("2026-12-05T13:50:00Z"), half_hour), at("2026-12-07T09:20:00Z"));
        // Thursday 2026-12-24 17:20: 10 minutes, then Christmas and Boxing Day are closed.
        assert_eq!(uk.add(at("2026-12-24T17:20:00Z"), half_hour), at("2026-12-28T09:20:00Z"));
    }

    #[test]
    fn holidays_and_time_zones_and_summer_time_count() {
        // Friday 2026-12-25 is a holiday: Thursday 16:30 + 1 h ends Monday 09:30.
        let c = weekdays_9_to_5("Europe/London", &["2026-12-25"]);
        assert_eq!(c.add(at("2026-12-24T16:30:00Z"), Duration::hours(1)), at("2026-12-28T09:30:00Z"));
        assert!(!c.is_open(at("2026-12-25T10:00:00Z")));
        // New York in winter is UTC-5: 09:00 local is 14:00 UTC.
        let ny = weekdays_9_to_5("America/New_York", &[]);
        assert!(!ny.is_open(at("2026-11-26T13:59:00Z")));
        assert!(ny.is_open(at("2026-11-26T14:00:00Z")));
        // London in summer is UTC+1: Monday 2026-06-01 08:30 UTC is 09:30 local.
        assert!(c.is_open(at("2026-06-01T08:30:00Z")));
        assert_eq!(c.add(at("2026-06-01T07:00:00Z"), Duration::minutes(15)), at("2026-06-01T08:15:00Z"));
    }

    #[test]
    fn always_open_and_bad_input() {
        let c = Calendar::always();
        assert_eq!(c.add(at("2026-11-28T12:00:00Z"), Duration::minutes(30)), at("2026-11-28T12:30:00Z"));
        assert!(c.is_open(at("2026-11-28T03:00:00Z")));
        let w = |s: &str, e: &str, d: Vec<u8>| Window { days: d, start: s.into(), end: e.into() };
        assert!(Calendar::new("Mars/Olympus", &[], &[]).is_err());
        assert!(Calendar::new("UTC", &[w("17:00", "09:00", vec![1])], &[]).is_err());
        assert!(Calendar::new("UTC", &[w("09:00", "25:00", vec![1])], &[]).is_err());
        assert!(Calendar::new("UTC", &[w("09:00", "17:00", vec![8])], &[]).is_err());
        assert!(Calendar::new("UTC", &[], &["2026-13-01".into()]).is_err());
        let late = Calendar::new("UTC", &[w("20:00", "24:00", vec![4])], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(late.add(at("2026-11-26T23:30:00Z"), Duration::hours(1)), at("2026-12-03T20:30:00Z"));
    }
}
