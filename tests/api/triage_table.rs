//! The triage table end to end: every case of tests/fixtures/triage_cases.json goes in through
//! the ingest API as its own customer and must come out at its expected tier.

use serde::Deserialize;
use serde_json::json;

use crate::helpers::{TestResult, conv_id, msg, patch, spawn_app};

#[derive(Deserialize)]
struct Case {
    text: String,
    visibility: String,
    addressed_to_brand: bool,
    followers: Option<i64>,
    expected_tier: String,
    why: String,
}

#[tokio::test]
async fn every_case_gets_its_tier() -> TestResult {
    let cases: Vec<Case> = serde_json::from_str(include_str!("../fixtures/triage_cases.json"))?;
    assert!(cases.len() >= 40, "the table needs at least 40 cases");
    for tier in ["tier1", "tier2", "noise"] {
        assert!(cases.iter().filter(|c| c.expected_tier == tier).count() >= 10, "too few {tier} cases");
    }
    let app = spawn_app().await;
    let batch: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            patch(
                msg(&format!("tri-{i}"), &format!("tri-cust-{i}"), &c.text, "2026-11-20T10:00:00Z"),
                json!({
                    "visibility": c.visibility,
                    "addressed_to_brand": c.addressed_to_brand,
                    "customer": {"id": format!("tri-cust-{i}"), "followers": c.followers},
                }),
            )
        })
        .collect();
    let results = app.ingest(&json!(batch)).await;
    let mut wrong = Vec::new();
    for (c, r) in cases.iter().zip(&results) {
        let conv = app.conversation(conv_id(r)).await["conversation"].clone();
        if conv["priority"] != c.expected_tier.as_str() {
            wrong.push(format!(
                "{:?}: expected {} ({}), got {} {}",
                c.text, c.expected_tier, c.why, conv["priority"], conv["risk_reasons"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{} of {} misranked:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    Ok(())
}
