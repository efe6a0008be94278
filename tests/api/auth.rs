//! Login, tokens, the first admin, agent management.

use serde_json::{Value, json};

use crate::helpers::{TestResult, spawn_app};

#[tokio::test]
async fn login_me_logout() -> TestResult {
    let app = spawn_app().await;
    let me = app.get_json("/api/v1/me").await;
    assert_eq!(me["email"], "admin@localhost");
    assert_eq!(me["roles"], json!(["admin"]));
    assert!(me.get("password_hash").is_none());

    let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&app.admin_token).send().await?;
    assert_eq!(r.status(), 204);
    let r = app.client.get(app.url("/api/v1/me")).bearer_auth(&app.admin_token).send().await?;
    assert_eq!(r.status(), 401, "a logged-out token is dead");
    Ok(())
}

#[tokio::test]
async fn bad_credentials_and_tokens() -> TestResult {
    let app = spawn_app().await;
    for body in [
        json!({"email": "admin@localhost", "password": "wrong-password"}),
        json!({"email": "nobody@example.com", "password": "whatever-it-is"}),
    ] {
        let r = app.client.post(app.url("/api/v1/auth/login")).json(&body).send().await?;
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await?;
        assert_eq!(v["error"]["code"], "unauthorized");
        assert_eq!(v["error"]["message"], "invalid email or password");
    }
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await?;
    assert_eq!(r.status(), 400);
    let r = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"email": "a"})).send().await?;
    assert_eq!(r.status(), 400);
    for path in
        ["/api/v1/me", "/api/v1/conversations", "/api/v1/agents", "/api/v1/conversations/1", "/api/v1/listening-rules"]
    {
        let r = app.client.get(app.url(path)).send().await?;
        assert_eq!(r.status(), 401, "{path} without token");
        let r = app.client.get(app.url(path)).bearer_auth("not-a-token").send().await?;
        assert_eq!(r.status(), 401, "{path} with a bad token");
    }
    // Email is case-insensitive.
    let token = app.login("ADMIN@localhost", crate::helpers::ADMIN_PASSWORD).await;
    assert!(!token.is_empty());
    Ok(())
}

#[tokio::test]
async fn admin_creates_agents_and_agents_cannot() -> TestResult {
    let app = spawn_app().await;
    let new = json!({"email": "Ana@Brand.example", "name": "Ana", "password": "a-long-password", "roles": ["agent"], "skills": ["billing"]});
    let r = app.post_json("/api/v1/agents", &new).await;
    assert_eq!(r.status(), 201);
    let ana: Value = r.json().await?;
    assert_eq!(ana["email"], "ana@brand.example");
    assert_eq!(ana["skills"], json!(["billing"]));
    assert_eq!(app.post_json("/api/v1/agents", &new).await.status(), 409);
    let weak = json!({"email": "b@x.example", "name": "B", "password": "short"});
    assert_eq!(app.post_json("/api/v1/agents", &weak).await.status(), 400);
    let bad_role = json!({"email": "c@x.example", "name": "C", "password": "a-long-password", "roles": ["god"]});
    assert_eq!(app.post_json("/api/v1/agents", &bad_role).await.status(), 400);

    let token = app.login("ana@brand.example", "a-long-password").await;
    let r = app
        .client
        .post(app.url("/api/v1/agents"))
        .bearer_auth(&token)
        .json(&json!({"email": "d@x.example", "name": "D", "password": "a-long-password"}))
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    let list: Value = app.get_json("/api/v1/agents").await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "the forbidden create changed nothing");

    use sea_orm::EntityTrait;
    let audit = entity::audit::Entity::find().all(&app.state.db).await?;
    assert!(audit.iter().any(|a| a.action == "agent.create"
        && a.target_id.as_deref() == ana["id"].as_i64().map(|i| i.to_string()).as_deref()));
    Ok(())
}

#[tokio::test]
async fn first_admin_is_created_once() -> TestResult {
    let app = spawn_app().await;
    // Building again on the same store must not create a second admin or change the password.
    let again = chorus_core::agents::ensure_first_admin(&app.state.db, Some("another-password".into())).await?;
    assert!(again.is_none());
    let list: Value = app.get_json("/api/v1/agents").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn generated_first_admin_password_works() -> TestResult {
    let scratch =
        chorus_tools::scratch_db::ScratchDb::create(crate::helpers::test_database_base().as_deref(), "test").await?;
    let settings = chorus_core::config::Settings {
        bind: "127.0.0.1:0".parse()?,
        database_url: scratch.url.clone(),
        ..Default::default()
    };
    let app = chorus::startup::Application::build(settings).await?;
    let password = app.first_admin_password.clone().ok_or("no generated password")?;
    assert!(password.len() >= 32);
    let url = format!("http://127.0.0.1:{}/api/v1/auth/login", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let r = reqwest::Client::new()
        .post(&url)
        .json(&json!({"email": "admin@localhost", "password": password}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    server.abort();
    scratch.drop_db().await?;
    Ok(())
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_for_a_while_and_the_lock_is_audited() -> TestResult {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = crate::helpers::spawn_app_with(|s| {
        s.max_failed_logins = 3;
        s.lockout_secs = 2;
    })
    .await;
    let (id, _) = app.agent("target@lock.example", &["agent"], 2).await;
    let password = "correct horse battery";
    let login = |pw: &'static str| {
        let (client, url) = (app.client.clone(), app.url("/api/v1/auth/login"));
        async move {
            let r = client.post(url).json(&json!({"email": "target@lock.example", "password": pw})).send().await?;
            let (status, retry) = (r.status().as_u16(), r.headers().get("retry-after").map(|v| v.as_bytes().to_vec()));
            Ok::<_, reqwest::Error>((status, retry, r.json::<Value>().await.unwrap_or(Value::Null)))
        }
    };
    // A success in between starts the count again.
    for _ in 0..2 {
        assert_eq!(login("wrong").await?.0, 401);
    }
    assert_eq!(login(password).await?.0, 200);
    for _ in 0..2 {
        assert_eq!(login("wrong").await?.0, 401);
    }
    assert_eq!(login(password).await?.0, 200, "two wrong after a success do not lock");
    // Three in a row do: even the right password is refused, with how long to wait.
    for _ in 0..3 {
        assert_eq!(login("wrong").await?.0, 401);
    }
    let (status, retry, body) = login(password).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("locked")), "{body}");
    assert!(retry.is_some_and(|r| r == b"1" || r == b"2"), "Retry-After tells the wait");
    // Unknown accounts are not locked (nor told apart): still 401.
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "nobody@lock.example", "password": "x"}))
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    let audit = entity::audit::Entity::find()
        .filter(entity::audit::Column::Action.eq("auth.lockout"))
        .all(&app.state.db)
        .await?;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].target_id.as_deref(), Some(id.to_string().as_str()));
    assert!(audit[0].ip.is_some(), "the address is kept");
    // The lock ends by itself.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(login(password).await?.0, 200, "unlocked after the lockout");
    Ok(())
}
