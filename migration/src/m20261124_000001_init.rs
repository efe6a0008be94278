//! The foundation schema: accounts, customers, conversations, messages, agents, the event log
//! and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn ts(col: impl IntoIden) -> ColumnDef {
    timestamp_with_time_zone(col)
}

fn ts_null(col: impl IntoIden) -> ColumnDef {
    timestamp_with_time_zone_null(col)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("teams")
                .col(big_pk_auto("id"))
                .col(string_uniq("name"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("agents")
                .col(big_pk_auto("id"))
                .col(string_uniq("email"))
                .col(string("name"))
                .col(string("password_hash"))
                .col(json("roles"))
                .col(json("skills"))
                .col(integer("capacity"))
                .col(big_integer_null("team_id"))
                .col(boolean("active"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("sessions")
                .col(big_pk_auto("id"))
                .col(big_integer("agent_id"))
                .col(string_uniq("token_hash"))
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .col(ts_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("brand_accounts")
                .col(big_pk_auto("id"))
                .col(string("network"))
                .col(string("platform_account_id"))
                .col(string("name"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        unique_index(m, "brand_accounts", "ux_brand_accounts_platform", &["network", "platform_account_id"]).await?;
        m.create_table(
            Table::create()
                .table("customers")
                .col(big_pk_auto("id"))
                .col(string("display_name"))
                .col(big_integer_null("followers"))
                .col(string_uniq("created_from"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("customer_identities")
                .col(big_pk_auto("id"))
                .col(big_integer("customer_id"))
                .col(string("network"))
                .col(string("platform_user_id"))
                .col(string_null("handle"))
                .col(string_null("name"))
                .col(big_integer_null("followers"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        unique_index(m, "customer_identities", "ux_identities_platform", &["network", "platform_user_id"]).await?;
        index(m, "customer_identities", "ix_identities_customer", &["customer_id"]).await?;
        m.create_table(
            Table::create()
                .table("conversations")
                .col(big_pk_auto("id"))
                .col(big_integer("brand_account_id"))
                .col(big_integer("customer_id"))
                .col(string("network"))
                .col(string("origin_visibility"))
                .col(string("status"))
                .col(small_integer("priority"))
                .col(integer("risk"))
                .col(json("risk_reasons"))
                .col(double_null("sentiment_start"))
                .col(double_null("sentiment_now"))
                .col(string_null("category"))
                .col(json("tags"))
                .col(big_integer_null("assignee_id"))
                .col(big_integer("fence_token"))
                .col(big_integer_null("previous_conversation_id"))
                .col(integer("message_count"))
                .col(ts("first_message_at"))
                .col(ts("last_message_at"))
                .col(ts_null("last_inbound_at"))
                .col(ts_null("awaiting_since"))
                .col(ts_null("first_response_at"))
                .col(ts_null("first_response_due_at"))
                .col(ts_null("next_response_due_at"))
                .col(big_integer("due_sort"))
                .col(ts_null("resolved_at"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "conversations", "ix_conversations_queue", &["status", "priority", "due_sort", "id"]).await?;
        index(m, "conversations", "ix_conversations_customer", &["customer_id", "brand_account_id"]).await?;
        // At most one unresolved conversation per customer and brand account, whatever node
        // ingests the message: the database, not a lock, keeps threading consistent in a cluster.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_conversations_active ON conversations \
                 (customer_id, brand_account_id) WHERE status <> 'resolved'",
            )
            .await?;
        m.create_table(
            Table::create()
                .table("messages")
                .col(big_pk_auto("id"))
                .col(big_integer("conversation_id"))
                .col(big_integer("brand_account_id"))
                .col(big_integer("customer_id"))
                .col(string("network"))
                .col(string("direction"))
                .col(string("visibility"))
                .col(string("platform_message_id"))
                .col(string_null("in_reply_to"))
                .col(big_integer_null("agent_id"))
                .col(string_null("author_name"))
                .col(text("text"))
                .col(double_null("sentiment"))
                .col(ts("sent_at"))
                .col(ts("received_at"))
                .to_owned(),
        )
        .await?;
        // The idempotency key of ingest: a retried delivery can never store a second row.
        unique_index(m, "messages", "ux_messages_platform", &["brand_account_id", "platform_message_id"]).await?;
        index(m, "messages", "ix_messages_conversation", &["conversation_id", "sent_at"]).await?;
        m.create_table(
            Table::create()
                .table("notes")
                .col(big_pk_auto("id"))
                .col(big_integer("conversation_id"))
                .col(big_integer("agent_id"))
                .col(text("text"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "notes", "ix_notes_conversation", &["conversation_id"]).await?;
        m.create_table(
            Table::create()
                .table("events")
                .col(big_pk_auto("seq"))
                .col(string("kind"))
                .col(big_integer_null("conversation_id"))
                .col(json("payload"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_log")
                .col(big_pk_auto("id"))
                .col(string("actor"))
                .col(string("action"))
                .col(string("target_type"))
                .col(string_null("target_id"))
                .col(json_null("before"))
                .col(json_null("after"))
                .col(string_null("ip"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "audit_log", "ix_audit_created", &["created_at"]).await?;
        m.create_table(
            Table::create()
                .table("listening_rules")
                .col(big_pk_auto("id"))
                .col(string_uniq("name"))
                .col(json("keywords"))
                .col(boolean("active"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "listening_rules",
            "audit_log",
            "events",
            "notes",
            "messages",
            "conversations",
            "customer_identities",
            "customers",
            "brand_accounts",
            "sessions",
            "agents",
            "teams",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

async fn unique_index(
    m: &SchemaManager<'_>,
    table: &'static str,
    name: &str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table).unique();
    for c in cols {
        stmt.col(*c);
    }
    m.create_index(stmt.to_owned()).await
}

async fn index(m: &SchemaManager<'_>, table: &'static str, name: &str, cols: &[&'static str]) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(*c);
    }
    m.create_index(stmt.to_owned()).await
}
