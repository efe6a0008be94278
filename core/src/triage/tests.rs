//! The triage table (shared with the end-to-end test) and the rules' finer points.

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Case {
    text: String,
    visibility: Visibility,
    addressed_to_brand: bool,
    followers: Option<i64>,
    expected_tier: Tier,
    why: String,
}

fn input<'a>(text: &'a str, visibility: Visibility) -> TriageInput<'a> {
    TriageInput {
        text,
        visibility,
        addressed_to_brand: true,
        followers: None,
        earlier_negative: false,
        listening_hits: &[],
    }
}

#[test]
fn the_table() -> Result<(), serde_json::Error> {
    let cases: Vec<Case> = serde_json::from_str(include_str!("../../../tests/fixtures/triage_cases.json"))?;
    assert!(cases.len() >= 40);
    let t = Triager::new(&TriageConfig::default());
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let got = t.triage(&TriageInput {
                text: &c.text,
                visibility: c.visibility,
                addressed_to_brand: c.addressed_to_brand,
                followers: c.followers,
                earlier_negative: false,
                listening_hits: &[],
            });
            (got.tier != c.expected_tier).then(|| {
                format!(
                    "{:?}: expected {:?} ({}), got {:?} {:?}",
                    c.text, c.expected_tier, c.why, got.tier, got.reasons
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{} misranked:\n{}", wrong.len(), wrong.join("\n"));
    Ok(())
}

#[test]
fn reasons_explain_tier_one() {
    let t = Triager::new(&TriageConfig::default());
    let r = t.triage(&TriageInput {
        followers: Some(250_000),
        earlier_negative: true,
        ..input("@Brand I was charged twice and nobody helps, this is ridiculous. Why?", Visibility::Public)
    });
    assert_eq!(r.tier, Tier::Tier1);
    let codes: Vec<&str> = r.reasons.iter().map(|r| r.code.as_str()).collect();
    for code in ["urgent", "complaint", "question", "influence", "earlier_negative", "public_exposure"] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(r.reasons.windows(2).all(|w| w[0].weight >= w[1].weight), "strongest first");
    assert_eq!(r.risk, 100, "clamped");
    assert_eq!(r.category.as_deref(), Some("billing"));
}

#[test]
fn influence_levels_and_listening() {
    let t = Triager::new(&TriageConfig::default());
    let mid = t.triage(&TriageInput { followers: Some(12_000), ..input("@Brand nice shop", Visibility::Public) });
    assert!(mid.reasons.iter().any(|r| r.code == "influence" && r.weight == 10));
    let hits = vec!["competitor".to_owned()];
    let heard = t.triage(&TriageInput {
        addressed_to_brand: false,
        listening_hits: &hits,
        ..input("switching away from AcmeTel, any advice on a new network", Visibility::Public)
    });
    assert_eq!(heard.tier, Tier::Tier2, "{:?}", heard.reasons);
    assert!(heard.reasons.iter().any(|r| r.code == "listening" && r.detail.contains("competitor")));
    let unheard =
        t.triage(&TriageInput { addressed_to_brand: false, ..input("switching networks soon", Visibility::Public) });
    assert_eq!(unheard.tier, Tier::Noise);
    assert_eq!(unheard.risk, 0);
}

#[test]
fn crisis_beats_spam_and_categories_are_configurable() {
    let t = Triager::new(&TriageConfig::default());
    let r = t.triage(&input("@Brand giveaway? no: your store caught fire and someone was injured", Visibility::Public));
    assert_eq!(r.tier, Tier::Tier1);
    assert!(r.reasons.iter().any(|r| r.code == "crisis_keyword"));
    let cfg = TriageConfig {
        categories: vec![CategoryRule { name: "baggage".into(), keywords: vec!["bag".into(), "suitcase".into()] }],
        ..TriageConfig::default()
    };
    let t = Triager::new(&cfg);
    assert_eq!(t.category("my suitcase and my bag are lost"), Some("baggage".into()));
    assert_eq!(t.category("nothing relevant"), None);
}

#[test]
fn sentiment_is_reported() {
    let t = Triager::new(&TriageConfig::default());
    let happy = t.triage(&input("@Brand you are wonderful, thank you!", Visibility::Public));
    let sad = t.triage(&input("@Brand you are awful, I hate this", Visibility::Public));
    assert!(happy.sentiment > 0.5 && sad.sentiment < -0.5);
    assert!(happy.reasons.iter().any(|r| r.code == "praise"));
}
