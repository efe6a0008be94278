//! `chorus import`: NDJSON history keeps the networks' timestamps; re-imports change nothing;
//! the TWCS CSV converts and threads.

use std::io::Write;

use serde_json::json;

use crate::helpers::{TestResult, msg, patch, spawn_app};

#[tokio::test]
async fn ndjson_import_keeps_original_timestamps() -> TestResult {
    let app = spawn_app().await;
    let mut file = tempfile::NamedTempFile::new()?;
    let lines = [
        msg("h1", "hc1", "@BrandOne my router keeps dropping, any fix?", "2017-10-11T06:55:44Z"),
        patch(
            msg("h2", "hc1", "@hc1 Please DM us your account number", "2017-10-11T07:10:00Z"),
            json!({"direction": "outbound", "in_reply_to": "h1"}),
        ),
        patch(msg("h3", "hc1", "Account 99812", "2017-10-11T07:12:30Z"), json!({"visibility": "private"})),
        patch(
            msg("h4", "hc1", "Fixed on our side, sorry!", "2017-10-11T07:40:00Z"),
            json!({"direction": "outbound", "visibility": "private"}),
        ),
    ];
    for l in &lines {
        writeln!(file, "{l}")?;
    }
    writeln!(file)?;
    file.flush()?;
    let report = chorus_core::ingest::import::import_file(&app.state.ingest, file.path()).await?;
    assert_eq!((report.lines, report.stored, report.duplicates), (4, 4, 0));
    let page = app.get_json("/api/v1/conversations?view=all").await;
    let c = &page["items"][0];
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["first_message_at"], "2017-10-11T06:55:44Z");
    assert_eq!(c["first_response_at"], "2017-10-11T07:10:00Z");
    assert_eq!(c["last_message_at"], "2017-10-11T07:40:00Z");
    let d = app.conversation(c["id"].as_i64().unwrap_or(0)).await;
    let times: Vec<&str> =
        d["messages"].as_array().into_iter().flatten().filter_map(|m| m["sent_at"].as_str()).collect();
    assert_eq!(times, ["2017-10-11T06:55:44Z", "2017-10-11T07:10:00Z", "2017-10-11T07:12:30Z", "2017-10-11T07:40:00Z"]);

    // Importing the same file again is harmless.
    let again = chorus_core::ingest::import::import_file(&app.state.ingest, file.path()).await?;
    assert_eq!((again.stored, again.duplicates), (0, 4));
    assert_eq!(app.count_messages().await, 4);
    Ok(())
}

#[tokio::test]
async fn bad_line_stops_with_its_number() -> TestResult {
    let app = spawn_app().await;
    let mut file = tempfile::NamedTempFile::new()?;
    writeln!(file, "{}", msg("g1", "gc", "fine", "2017-10-11T06:55:44Z"))?;
    writeln!(file, "{{\"network\": \"x\"}}")?;
    file.flush()?;
    let err = chorus_core::ingest::import::import_file(&app.state.ingest, file.path())
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(err.contains(":2:"), "{err}");
    Ok(())
}

#[tokio::test]
async fn twcs_sample_imports_and_threads() -> TestResult {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(chorus_tests::fixture("twcs_sample.csv"))?;
    let (msgs, conv) = chorus_core::ingest::twcs::convert(&text)?;
    assert_eq!(conv.rows, 93);
    assert_eq!(conv.converted + conv.skipped(), conv.rows);
    let report = chorus_core::ingest::import::import_messages(&app.state.ingest, msgs).await?;
    assert_eq!(report.stored as usize, conv.converted);
    // Every answered thread has a first response at the brand's own tweet time, never before
    // the first customer message.
    use sea_orm::EntityTrait;
    let convs = entity::conversation::Entity::find().all(&app.state.db).await?;
    assert!(!convs.is_empty());
    for c in convs {
        if let Some(fr) = c.first_response_at {
            assert!(fr >= c.first_message_at, "conversation {} answered before it began", c.id);
        }
    }
    Ok(())
}
