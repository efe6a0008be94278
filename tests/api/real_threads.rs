//! Truth on real conversations: one conversation per customer and brand account, whoever
//! replies under whose post, and per-brand figures of real Twitter support history that agree,
//! to the second, with a computation written here from the definitions alone.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::helpers::{TestResult, conv_id, msg, patch, spawn_app};

/// Customers reply under each other's public posts. B's reply under A's post is B's own
/// conversation; the brand's answer to B is B's first response, not A's; the brand's later
/// answer to A is A's.
#[tokio::test]
async fn replies_under_another_customers_post_stay_with_their_own_customer() -> TestResult {
    let app = spawn_app().await;
    let a = app.ingest(&json!([msg("t-a", "cust-a", "@BrandOne my order never came", "2026-12-01T10:00:00Z")])).await;
    let b = app
        .ingest(&json!([patch(
            msg("t-b", "cust-b", "@cust-a @BrandOne same here, two weeks late", "2026-12-01T10:05:00Z"),
            json!({"in_reply_to": "t-a"})
        )]))
        .await;
    let (conv_a, conv_b) = (conv_id(&a[0]), conv_id(&b[0]));
    assert_ne!(conv_a, conv_b, "B's reply under A's post opens B's own conversation");
    // The brand answers B (its customer named as B, replying to B's tweet).
    let to_b = app
        .ingest(&json!([patch(
            msg("t-r1", "cust-b", "@cust-b sorry! DM us your order number", "2026-12-01T10:20:00Z"),
            json!({"direction": "outbound", "in_reply_to": "t-b"})
        )]))
        .await;
    assert_eq!(conv_id(&to_b[0]), conv_b);
    // The brand answers A later, even naming the wrong customer: the tweet it answers decides.
    let to_a = app
        .ingest(&json!([patch(
            msg("t-r2", "cust-b", "@cust-a we are on it", "2026-12-01T11:00:00Z"),
            json!({"direction": "outbound", "in_reply_to": "t-a"})
        )]))
        .await;
    assert_eq!(conv_id(&to_a[0]), conv_a, "the answer to A's tweet is A's");

    let ca = app.conversation(conv_a).await;
    let cb = app.conversation(conv_b).await;
    assert_eq!(ca["conversation"]["first_response_at"], "2026-12-01T11:00:00Z", "{ca}");
    assert_eq!(cb["conversation"]["first_response_at"], "2026-12-01T10:20:00Z", "{cb}");
    assert_ne!(ca["conversation"]["customer_id"], cb["conversation"]["customer_id"]);
    // B's message keeps its link, and the console can show what it answers.
    let b_msg = &cb["messages"][0];
    assert_eq!(b_msg["in_reply_to"], "t-a");
    assert_eq!(b_msg["replying_to"]["conversation_id"].as_i64(), Some(conv_a), "{b_msg}");
    assert_eq!(b_msg["replying_to"]["text"], "@BrandOne my order never came");
    // Both customers were on the queue until answered; the figures count two first responses.
    let h = app.get_json("/api/v1/metrics/history?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&bucket=day").await;
    let all = &h["total"]["all"];
    assert_eq!((all["conversations"].as_i64(), all["first_responses"].as_i64()), (Some(2), Some(2)), "{h}");
    let frt = all["frt_mean_secs"].as_f64().unwrap_or_default();
    assert!((frt - (15.0 * 60.0 + 60.0 * 60.0) / 2.0).abs() < 0.001, "A waited 60 min, B 15 min: {frt}");
    Ok(())
}

/// A brand message answering nothing stored goes to the customer the network named.
#[tokio::test]
async fn a_brand_message_without_a_known_parent_goes_to_its_named_customer() -> TestResult {
    let app = spawn_app().await;
    let a = app.ingest(&json!([msg("u-a", "cust-a", "@BrandOne hello?", "2026-12-01T10:00:00Z")])).await;
    let r = app
        .ingest(&json!([patch(
            msg("u-r", "cust-a", "@cust-a hi! how can we help", "2026-12-01T10:03:00Z"),
            json!({"direction": "outbound", "in_reply_to": "not-stored"})
        )]))
        .await;
    assert_eq!(conv_id(&r[0]), conv_id(&a[0]));
    Ok(())
}

/// One row of the TWCS CSV.
#[derive(serde::Deserialize)]
struct Row {
    tweet_id: String,
    author_id: String,
    inbound: String,
    created_at: String,
    text: String,
    response_tweet_id: String,
    in_response_to_tweet_id: String,
}

/// Per brand: inbound, outbound, conversations, first responses, their summed seconds,
/// responses, their summed seconds.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Expected {
    inbound: i64,
    outbound: i64,
    conversations: i64,
    first_responses: i64,
    frt_secs: i64,
    responses: i64,
    art_secs: i64,
}

/// Places every row as the guide defines a conversation, independently of the converter:
/// a customer tweet goes to the brand of its reply chain (a brand tweet above it; the brand that
/// answered it; the brand of the customer tweet above it), else the first brand it mentions; a
/// brand tweet to the author of the customer tweet it answers (through brand tweets above it),
/// else the first customer it mentions.
fn expected(csv_text: &str) -> BTreeMap<String, Expected> {
    let rows: Vec<Row> =
        csv::Reader::from_reader(csv_text.as_bytes()).deserialize().collect::<Result<_, _>>().unwrap_or_default();
    let is_in = |r: &Row| r.inbound == "True";
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.tweet_id.as_str(), r)).collect();
    let brands: std::collections::HashSet<&str> =
        rows.iter().filter(|r| !is_in(r)).map(|r| r.author_id.as_str()).collect();
    let parent = |r: &Row| by_id.get(r.in_response_to_tweet_id.as_str()).copied();
    let mentions = |t: &str| -> Vec<String> {
        t.split_whitespace()
            .filter_map(|w| w.strip_prefix('@'))
            .map(|w| w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_')).to_owned())
            .filter(|w| !w.is_empty())
            .collect()
    };
    let answered_by = |r: &Row| -> Option<String> {
        r.response_tweet_id
            .split(',')
            .filter_map(|id| by_id.get(id.trim()))
            .find(|x| !is_in(x) && x.in_response_to_tweet_id == r.tweet_id)
            .map(|x| x.author_id.clone())
    };
    let mentioned_brand = |r: &Row| mentions(&r.text).into_iter().find(|m| brands.contains(m.as_str()));
    fn brand_of<'a>(
        r: &'a Row,
        depth: usize,
        ctx: &dyn Fn(&'a Row) -> (Option<&'a Row>, Option<String>, Option<String>),
    ) -> (Option<String>, Option<String>) {
        // (brand found up the chain by a brand tweet, brand by answers/mentions of the chain)
        let (up, answered, mentioned) = ctx(r);
        match up {
            Some(p) if p.inbound != "True" => (Some(p.author_id.clone()), None),
            Some(p) if depth < 1000 => {
                let (b, weak) = brand_of(p, depth + 1, ctx);
                (b, answered.or(mentioned).or(weak))
            }
            _ => (None, answered.or(mentioned)),
        }
    }
    let ctx = |r: &Row| (parent(r), answered_by(r), mentioned_brand(r));
    let place_in = |r: &Row| -> Option<String> {
        let (up, _, own_mention) = ctx(r);
        let (strong, weak) = match up {
            Some(p) if !is_in(p) => (Some(p.author_id.clone()), None),
            Some(p) => brand_of(p, 0, &ctx),
            None => (None, None),
        };
        strong.or_else(|| answered_by(r)).or(weak).or(own_mention)
    };
    let place_out = |r: &Row| -> Option<String> {
        let mut at = r;
        for _ in 0..1000 {
            match parent(at) {
                Some(p) if is_in(p) => return Some(p.author_id.clone()),
                Some(p) => at = p,
                None => break,
            }
        }
        let mut at = r;
        for _ in 0..1000 {
            if let Some(m) = mentions(&at.text).into_iter().find(|m| m.chars().all(|c| c.is_ascii_digit())) {
                return Some(m);
            }
            match parent(at) {
                Some(p) => at = p,
                None => break,
            }
        }
        None
    };
    // (time, file order, brand, customer, inbound)
    let mut placed: Vec<(i64, usize, String, String, bool)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let at = chrono::DateTime::parse_from_str(&r.created_at, "%a %b %d %H:%M:%S %z %Y")
            .map(|t| t.timestamp())
            .unwrap_or_else(|e| panic!("{}: {e}", r.created_at));
        let (brand, customer) =
            if is_in(r) { (place_in(r), Some(r.author_id.clone())) } else { (Some(r.author_id.clone()), place_out(r)) };
        if let (Some(b), Some(c)) = (brand, customer) {
            placed.push((at, i, b, c, is_in(r)));
        }
    }
    placed.sort();
    // Per conversation (brand, customer): customer messages waiting, answered or not yet.
    let mut waiting: HashMap<(String, String), Vec<i64>> = HashMap::new();
    let mut seen_customer: HashMap<(String, String), ()> = HashMap::new();
    let mut answered_once: HashMap<(String, String), ()> = HashMap::new();
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for (at, _, brand, customer, inbound) in placed {
        let e = out.entry(brand.clone()).or_default();
        let key = (brand, customer);
        if inbound {
            e.inbound += 1;
            if seen_customer.insert(key.clone(), ()).is_none() {
                e.conversations += 1;
            }
            waiting.entry(key).or_default().push(at);
        } else {
            e.outbound += 1;
            let w = waiting.remove(&key).unwrap_or_default();
            if !w.is_empty() || seen_customer.contains_key(&key) {
                if seen_customer.contains_key(&key) && answered_once.insert(key.clone(), ()).is_none() {
                    e.first_responses += 1;
                    e.frt_secs += at - w.iter().min().copied().unwrap_or(at);
                }
                for t in w {
                    e.responses += 1;
                    e.art_secs += at - t;
                }
            }
        }
    }
    out
}

/// Real Twitter support history, imported, gives every brand the figures the definitions give.
#[tokio::test]
async fn imported_twcs_history_matches_an_independent_computation_per_brand() -> TestResult {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(chorus_tests::fixture("twcs_sample.csv"))?;
    let want = expected(&text);
    let (msgs, report) = chorus_core::ingest::twcs::convert(&text)?;
    chorus_core::ingest::import::import_messages(&app.state.ingest, msgs).await?;
    let placed_rows: i64 = want.values().map(|e| e.inbound + e.outbound).sum();
    assert_eq!(placed_rows as usize, report.converted, "the converter placed the same rows: {:?}", report.unplaced);

    let accounts = app.get_json("/api/v1/brand-accounts").await;
    let id_of: HashMap<String, i64> = accounts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["platform_account_id"].as_str()?.to_owned(), a["id"].as_i64()?)))
        .collect();
    let q = "from=2015-01-01T00:00:00Z&to=2019-01-01T00:00:00Z&bucket=day";
    let split = app.get_json(&format!("/api/v1/metrics/history?{q}&by=brand_account")).await;
    let mut by_key: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in split["rows"].as_array().into_iter().flatten() {
        by_key.entry(r["key"].as_str().unwrap_or_default().to_owned()).or_default().push(&r["all"]);
    }
    for (brand, e) in &want {
        let id = id_of.get(brand).copied().unwrap_or_else(|| panic!("brand account {brand} not listed: {accounts}"));
        let h = app.get_json(&format!("/api/v1/metrics/history?{q}&brand_account_id={id}")).await;
        let all = &h["total"]["all"];
        let n = |k: &str| all[k].as_i64().unwrap_or_default();
        let got = (n("inbound"), n("outbound"), n("conversations"), n("first_responses"), n("responses"));
        assert_eq!(got, (e.inbound, e.outbound, e.conversations, e.first_responses, e.responses), "{brand}: {all}");
        let mean = |k: &str, sum: i64, count: i64| {
            if count == 0 {
                assert!(all[k].is_null(), "{brand} {k}: {all}");
            } else {
                let got = all[k].as_f64().unwrap_or(f64::NAN);
                let want = sum as f64 / count as f64;
                assert!((got - want).abs() < 1.0, "{brand} {k}: got {got}, want {want} (to the second)");
            }
        };
        mean("frt_mean_secs", e.frt_secs, e.first_responses);
        mean("art_mean_secs", e.art_secs, e.responses);
        let rate = all["response_rate"].as_f64();
        assert_eq!(
            rate.map(|r| (r * 1e9).round()),
            (e.inbound > 0).then(|| (e.responses as f64 / e.inbound as f64 * 1e9).round())
        );
        // The split by brand account sums to the same.
        let rows = by_key.get(&id.to_string()).cloned().unwrap_or_default();
        let inbound: i64 = rows.iter().map(|r| r["inbound"].as_i64().unwrap_or_default()).sum();
        assert_eq!(inbound, e.inbound, "{brand}: by=brand_account");
    }
    assert!(want.len() >= 10, "the sample has many brands: {}", want.len());
    Ok(())
}

/// Data threaded the old way (B's reply under A's post, and the brand's answer to B, inside A's
/// conversation) is put right by `chorus rethread`, and a second run finds nothing.
#[tokio::test]
async fn rethread_moves_replies_under_other_customers_posts_to_their_own_conversation() -> TestResult {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app().await;
    let a = conv_id(
        &app.ingest(&json!([msg("v-a", "cust-a", "@BrandOne my order never came", "2026-11-30T10:00:00Z")])).await[0],
    );
    let b = app
        .ingest(&json!([patch(
            msg("v-b", "cust-b", "@cust-a @BrandOne same here", "2026-11-30T10:05:00Z"),
            json!({"in_reply_to": "v-a"})
        )]))
        .await;
    let to_b = app
        .ingest(&json!([patch(
            msg("v-r", "cust-b", "@cust-b sorry! DM us", "2026-11-30T10:20:00Z"),
            json!({"direction": "outbound", "in_reply_to": "v-b"})
        )]))
        .await;
    let b = conv_id(&b[0]);
    assert_eq!(conv_id(&to_b[0]), b);
    // Thread it the way it was stored before 2026-12-03: everything in A's conversation.
    let db = &app.state.db;
    entity::message::Entity::update_many()
        .col_expr(entity::message::Column::ConversationId, sea_orm::sea_query::Expr::value(a))
        .filter(entity::message::Column::ConversationId.eq(b))
        .exec(db)
        .await?;
    entity::conversation::Entity::update_many()
        .col_expr(
            entity::conversation::Column::FirstResponseAt,
            sea_orm::sea_query::Expr::value(Some(
                chrono::DateTime::parse_from_rfc3339("2026-11-30T10:20:00Z")?.to_utc(),
            )),
        )
        .filter(entity::conversation::Column::Id.eq(a))
        .exec(db)
        .await?;
    entity::conversation::Entity::delete_by_id(b).exec(db).await?;

    let policies = app.state.sla.current();
    let dry = chorus_core::conversations::rethread::run(db, &policies, true).await?;
    assert_eq!((dry.misplaced, dry.created), (2, 1), "{dry:?}");
    assert_eq!(app.conversation(a).await["messages"].as_array().map(Vec::len), Some(3), "a dry run changes nothing");
    let done = chorus_core::conversations::rethread::run(db, &policies, false).await?;
    assert_eq!((done.misplaced, done.created, done.retimed), (2, 1, 2), "{done:?}");
    let ca = app.conversation(a).await;
    assert_eq!(ca["messages"].as_array().map(Vec::len), Some(1), "{ca}");
    assert!(ca["conversation"]["first_response_at"].is_null(), "A never got an answer: {ca}");
    assert_eq!(ca["conversation"]["awaiting_since"], "2026-11-30T10:00:00Z");
    let page = app.get_json("/api/v1/conversations?view=all").await;
    let theirs: Vec<&Value> =
        page["items"].as_array().into_iter().flatten().filter(|c| c["id"].as_i64() != Some(a)).collect();
    assert_eq!(theirs.len(), 1, "{page}");
    assert_eq!(theirs[0]["first_response_at"], "2026-11-30T10:20:00Z", "B's answer is B's: {page}");
    assert_eq!(theirs[0]["message_count"].as_i64(), Some(2));
    let again = chorus_core::conversations::rethread::run(db, &policies, false).await?;
    assert_eq!(again.misplaced, 0, "{again:?}");
    Ok(())
}
