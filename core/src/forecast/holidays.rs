//! Holidays in the forecast. A holiday in the SLA calendar is a day the brand is closed; on
//! social, customers still write, but not as on the same weekday otherwise. Two pure steps:
//! before fitting, a past holiday's hours are replaced by the same hours one week earlier, so a
//! single odd day does not bend the weekly season for every week after it; after forecasting, a
//! coming holiday's hours are scaled by what past holidays did to volume (actual over the same
//! hour a week earlier), or left as they are when the history holds no holiday to learn from.

use chrono::{DateTime, Duration, Utc};

use super::model::WEEK;
use crate::sla::calendar::Calendar;

/// For `n` hours from `first` (an hour's start), whether each falls on one of `calendar`'s
/// holidays (by the calendar's local date).
pub fn mask(calendar: &Calendar, first: DateTime<Utc>, n: usize) -> Vec<bool> {
    (0..n).map(|i| calendar.is_holiday(first + Duration::hours(i as i64))).collect()
}

/// What past holidays did to volume: the sum of their hours' counts over the sum of the same
/// hours one week earlier (when those were no holiday). `None` without such hours, or when
/// the week before was empty.
pub fn factor(history: &[f64], holiday: &[bool]) -> Option<f64> {
    let (mut on, mut before) = (0.0, 0.0);
    for t in WEEK..history.len().min(holiday.len()) {
        if holiday[t] && !holiday[t - WEEK] {
            on += history[t];
            before += history[t - WEEK];
        }
    }
    (before > 0.0).then(|| on / before)
}

/// Replaces each holiday hour of `history` with the same hour one week earlier (itself already
/// replaced if it was a holiday too). Hours in the first week stay as they are.
pub fn smooth(history: &mut [f64], holiday: &[bool]) {
    for t in WEEK..history.len().min(holiday.len()) {
        if holiday[t] {
            history[t] = history[t - WEEK];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holiday_is_learnt_and_smoothed_away() {
        let mut h = vec![10.0; 3 * WEEK];
        let mut mask = vec![false; 3 * WEEK];
        // The second week's Tuesday was a holiday with a third of the volume.
        for t in WEEK + 24..WEEK + 48 {
            h[t] = 10.0 / 3.0;
            mask[t] = true;
        }
        let Some(f) = factor(&h, &mask) else { panic!("one holiday") };
        assert!((f - 1.0 / 3.0).abs() < 1e-9);
        smooth(&mut h, &mask);
        assert!(h.iter().all(|v| (*v - 10.0).abs() < 1e-9));
    }

    #[test]
    fn no_holiday_no_factor() {
        assert_eq!(factor(&[5.0; 400], &[false; 400]), None);
    }

    #[test]
    fn the_mask_follows_the_calendars_local_date() {
        let cal = Calendar::new("Europe/Madrid", &[], &["2026-12-25".into()]).unwrap_or_else(|e| panic!("{e}"));
        // 2026-12-24 23:00 UTC is already the 25th in Madrid (UTC+1).
        let first = "2026-12-24T22:00:00Z".parse::<DateTime<Utc>>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mask(&cal, first, 3), vec![false, true, true]);
    }
}
