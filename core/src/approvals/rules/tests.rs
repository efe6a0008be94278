use chrono::Utc;

use super::*;

fn conversation(risk: i32, category: Option<&str>, crisis: Option<i64>) -> conversation::Model {
    let now = Utc::now();
    conversation::Model {
        id: 1,
        brand_account_id: 1,
        customer_id: 1,
        network: "x".into(),
        origin_visibility: "public".into(),
        status: entity::conversation::Status::Open,
        priority: 1,
        risk,
        risk_reasons: serde_json::json!([]),
        sentiment_start: None,
        sentiment_now: None,
        category: category.map(str::to_owned),
        language: None,
        tags: serde_json::json!([]),
        team_id: None,
        assignee_id: Some(7),
        fence_token: 1,
        previous_conversation_id: None,
        message_count: 1,
        first_message_at: now,
        last_message_at: now,
        last_inbound_at: Some(now),
        first_inbound_at: None,
        awaiting_since: Some(now),
        first_response_at: None,
        first_response_due_at: None,
        next_response_due_at: None,
        due_sort: i64::MAX,
        resolved_at: None,
        resolved_by: None,
        public_followup_due_at: None,
        crisis_id: crisis,
        escalated_to: None,
        sla_warned_due: None,
        sla_breached_due: None,
        unanswered: None,
        handling_ms: 0,
        in_hours: 1,
        snippet: None,
        customer_handle: None,
        created_at: now,
        updated_at: now,
    }
}

fn spec(kind: &str, group: &str) -> RuleSpec {
    RuleSpec {
        kind: entity::approval_rule::Kind::parse(kind).unwrap_or_else(|| panic!("no rule kind {kind}")),
        group: group.into(),
        keywords: vec![],
        categories: vec![],
        agent_ids: vec![],
        risk_at_least: None,
        percent: None,
        enabled: true,
        note: None,
        deadline_mins: None,
        networks: vec![],
        visibility: None,
        customer_tags: vec![],
        sentiment: None,
    }
}

fn rule(id: i64, spec: RuleSpec) -> RuleView {
    RuleView {
        id,
        spec: clean(spec).unwrap_or_else(|e| panic!("valid rule: {e}")),
        created_by: 1,
        updated_at: Utc::now(),
    }
}

fn subject<'a>(c: &'a conversation::Model, text: &'a str, visibility: &'a str, inbound: &'a [String]) -> Subject<'a> {
    Subject { conversation: c, author_id: 7, text, visibility, inbound, roll: 50, customer_tags: &[] }
}

#[test]
fn each_kind_holds_only_what_it_names() {
    let topic = rule(1, RuleSpec { keywords: vec!["Lawsuit".into(), "data breach".into()], ..spec("topic", "legal") });
    let by_category = rule(2, RuleSpec { categories: vec!["crisis".into()], ..spec("topic", "pr") });
    let agent = rule(3, RuleSpec { agent_ids: vec![7], ..spec("agent", "team_lead") });
    let crisis = rule(4, spec("crisis", "pr"));
    let risk = rule(5, RuleSpec { risk_at_least: Some(60), ..spec("risk", "pr") });
    let spot = rule(6, RuleSpec { percent: Some(51), ..spec("spot_check", "team_lead") });
    let calm = conversation(10, Some("question"), None);
    let none: Vec<String> = vec![];
    let ids = |rules: &[RuleView], s: &Subject| evaluate(rules, s).iter().map(|r| r.rule_id).collect::<Vec<_>>();

    let all = [topic.clone(), by_category.clone(), crisis.clone(), risk.clone()];
    assert!(ids(&all, &subject(&calm, "Thanks, we are on it", "public", &none)).is_empty());
    // Whole words in the reply or in the customer's messages, any case; not inside other words.
    assert_eq!(ids(&all, &subject(&calm, "No DATA BREACH happened", "public", &none)), vec![1]);
    let said = vec!["I will file a lawsuit!".to_owned()];
    assert_eq!(ids(&all, &subject(&calm, "Sorry to hear", "private", &said)), vec![1]);
    assert!(ids(&all, &subject(&calm, "lawsuits are not words we match", "public", &none)).is_empty());
    let crisis_category = conversation(10, Some("crisis"), None);
    assert_eq!(ids(&all, &subject(&crisis_category, "ok", "public", &none)), vec![2]);
    let linked = conversation(10, None, Some(3));
    assert_eq!(ids(&all, &subject(&linked, "ok", "private", &none)), vec![4]);
    // Risk holds public replies only, at and above the threshold.
    let risky = conversation(60, None, None);
    assert_eq!(ids(&all, &subject(&risky, "ok", "public", &none)), vec![5]);
    assert!(ids(&all, &subject(&risky, "ok", "private", &none)).is_empty());
    assert!(ids(&all, &subject(&conversation(59, None, None), "ok", "public", &none)).is_empty());
    // The agent rule names its author; the spot check compares the draw with its percent.
    assert_eq!(ids(std::slice::from_ref(&agent), &subject(&calm, "ok", "public", &none)), vec![3]);
    let other = Subject { author_id: 8, ..subject(&calm, "ok", "public", &none) };
    assert!(ids(std::slice::from_ref(&agent), &other).is_empty());
    assert_eq!(ids(std::slice::from_ref(&spot), &subject(&calm, "ok", "public", &none)), vec![6]);
    let lucky = Subject { roll: 51, ..subject(&calm, "ok", "public", &none) };
    assert!(ids(std::slice::from_ref(&spot), &lucky).is_empty());
    // A disabled rule holds nothing.
    let mut off = risk;
    off.spec.enabled = false;
    assert!(ids(&[off], &subject(&risky, "ok", "public", &none)).is_empty());
}

#[test]
fn the_most_senior_group_among_the_reasons_decides() {
    let reason = |group: &str| Reason {
        rule_id: 1,
        kind: entity::approval_rule::Kind::Topic,
        group: group.into(),
        why: String::new(),
        deadline_mins: None,
    };
    assert_eq!(group_for(&[reason("team_lead"), reason("legal"), reason("pr")]), Some("legal"));
    assert_eq!(group_for(&[reason("team_lead"), reason("pr")]), Some("pr"));
    assert_eq!(group_for(&[]), None);
}

#[test]
fn network_visibility_customer_tag_and_mood_narrow_any_rule() {
    use crate::network::{Network, Visibility};
    let narrow = rule(
        1,
        RuleSpec {
            percent: Some(100),
            networks: vec![Network::X],
            visibility: Some(Visibility::Public),
            customer_tags: vec!["VIP".into()],
            sentiment: Some(Mood::Negative),
            ..spec("spot_check", "pr")
        },
    );
    assert_eq!(narrow.spec.customer_tags, vec!["vip"], "tags are normalized like keywords");
    let mut c = conversation(10, None, None);
    c.network = "x".into();
    c.sentiment_now = Some(-0.6);
    let vip = vec!["vip".to_owned(), "press".to_owned()];
    let none: Vec<String> = vec![];
    let held = |c: &conversation::Model, visibility: &str, tags: &[String]| {
        !evaluate(
            std::slice::from_ref(&narrow),
            &Subject { customer_tags: tags, ..subject(c, "ok", visibility, &none) },
        )
        .is_empty()
    };
    assert!(held(&c, "public", &vip), "every condition holds");
    assert!(!held(&c, "private", &vip), "visibility");
    assert!(!held(&c, "public", &none), "customer tag");
    let mut calm = c.clone();
    calm.sentiment_now = Some(0.4);
    assert!(!held(&calm, "public", &vip), "mood");
    let mut facebook = c.clone();
    facebook.network = "facebook".into();
    assert!(!held(&facebook, "public", &vip), "network");
}

#[test]
fn the_shortest_deadline_among_the_reasons_sets_the_pace() {
    let reason = |deadline_mins| Reason {
        rule_id: 1,
        kind: entity::approval_rule::Kind::Topic,
        group: "pr".into(),
        why: String::new(),
        deadline_mins,
    };
    assert_eq!(deadline_for(&[reason(Some(30)), reason(None), reason(Some(10))]), Some(chrono::Duration::minutes(10)));
    assert_eq!(deadline_for(&[reason(None)]), None);
    assert!(matches!(clean(RuleSpec { deadline_mins: Some(0), ..spec("crisis", "pr") }), Err(Error::Validation(_))));
}

#[test]
fn rules_are_checked_and_normalized() {
    let t = clean(RuleSpec { keywords: vec![" Refund ".into(), "refund".into()], ..spec("topic", "pr") })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.keywords, vec!["refund"]);
    let bad = [
        spec("topic", "pr"),
        RuleSpec { keywords: vec!["x".into()], ..spec("topic", "ceo") },
        RuleSpec { keywords: vec!["x".into()], ..spec("risk", "pr") },
        RuleSpec { risk_at_least: Some(101), ..spec("risk", "pr") },
        RuleSpec { percent: Some(0), ..spec("spot_check", "pr") },
        RuleSpec { percent: Some(10), ..spec("agent", "pr") },
        spec("agent", "team_lead"),
        RuleSpec { keywords: vec![String::new()], ..spec("topic", "pr") },
    ];
    for s in bad {
        assert!(matches!(clean(s.clone()), Err(Error::Validation(_))), "{s:?} should be refused");
    }
    // A kind Chorus does not know is not even a rule.
    let unknown = serde_json::json!({"kind": "nonsense", "group": "pr", "keywords": ["x"]});
    assert!(serde_json::from_value::<RuleSpec>(unknown).is_err());
}
