//! `chorus forecast`: the forecast on the command line, and its backtest. The backtest is the
//! honest check of a forecast: hide the last week, forecast it from what came before, and see
//! whether it beats simply repeating the same hour of the week before.

use chorus_core::config::Settings;
use chorus_core::forecast::backtest::{self, Backtest, Score};
use chorus_core::forecast::{self, model};

/// What `chorus forecast` was asked.
#[derive(Debug, Clone)]
pub struct Args {
    /// Score on held-out history.
    pub backtest: bool,
    /// Weeks of generated history instead of the store's.
    pub synthetic: Option<usize>,
    /// Only this team.
    pub team_id: Option<i64>,
    /// Only this network.
    pub network: Option<String>,
    /// Hours held out.
    pub holdout_hours: usize,
    /// Interval level.
    pub level: f64,
    /// Fail unless the forecast wins.
    pub require_better: bool,
}

/// The store's complete hours of the slice, oldest first, from its first recorded hour (at most
/// a year back) to the last complete hour.
async fn history(settings: &Settings, args: &Args) -> anyhow::Result<Vec<f64>> {
    let db = chorus_core::db::connect(&settings.database_url).await?;
    chorus_core::db::migrate(&db).await?;
    let slice = forecast::slice_of(args.team_id, args.network.as_deref())?;
    let now_hour = chorus_core::metrics::tally::hour_of(chrono::Utc::now());
    let Some(first) = forecast::first_hour(&db).await? else { anyhow::bail!("the store has no hourly history yet") };
    Ok(forecast::hourly(&db, &slice, first.max(now_hour - 366 * 24), now_hour).await?)
}

fn line(name: &str, s: &Score) -> String {
    let mape = s.mape.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.1} %"));
    format!("  {name:<26} MAPE {mape:>8}   MAE {:>7.2}   interval coverage {:>5.1} %", s.mae, 100.0 * s.coverage)
}

/// What the backtest prints.
pub fn report(b: &Backtest) -> String {
    let verdict = if b.beats_seasonal_naive() { "beats" } else { "does NOT beat" };
    [
        format!(
            "backtest: {} hours fitted, the last {} held out, {:.0} % intervals",
            b.trained_hours,
            b.held_out_hours,
            100.0 * b.level
        ),
        line(&format!("forecast ({})", b.method.name()), &b.forecast),
        line("seasonal naive (last week)", &b.seasonal_naive),
        format!("the forecast {verdict} the same hour last week"),
    ]
    .join("\n")
}

/// Runs `chorus forecast`.
pub async fn run(settings: &Settings, args: Args) -> anyhow::Result<()> {
    if !(0.5..=0.99).contains(&args.level) {
        anyhow::bail!("--level is between 0.5 and 0.99");
    }
    let series = match args.synthetic {
        Some(weeks) if (2..=104).contains(&weeks) => backtest::synthetic(weeks, 20.0, 42),
        Some(_) => anyhow::bail!("--synthetic is 2 to 104 weeks"),
        None => history(settings, &args).await?,
    };
    if args.backtest {
        let Some(b) = backtest::backtest(&series, args.holdout_hours, args.level) else {
            anyhow::bail!(
                "a backtest needs at least a week of history before the {} held-out hours ({} hours here)",
                args.holdout_hours,
                series.len()
            );
        };
        println!("{}", report(&b));
        if args.require_better && !b.beats_seasonal_naive() {
            anyhow::bail!("the forecast did not beat seasonal naive");
        }
        return Ok(());
    }
    let band = model::forecast(&series, 24, args.level);
    if band.is_empty() {
        anyhow::bail!("less than a day of history ({} hours): no forecast yet", series.len());
    }
    println!(
        "next 24 hours ({}, {:.0} % intervals), from {} hours of history:",
        band.method.name(),
        100.0 * args.level,
        series.len()
    );
    for i in 0..band.point.len() {
        println!("  +{:>2} h  {:>8.1}  [{:>7.1}, {:>7.1}]", i + 1, band.point[i], band.lower[i], band.upper[i]);
    }
    Ok(())
}
