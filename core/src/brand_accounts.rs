//! Brand accounts: the handles and pages a team runs (a main brand, a help handle, regional
//! pages). Ingest registers each the first time a verified delivery names it; people give them
//! names and settings here, and every figure can be split or filtered by them.

use chrono::{DateTime, Utc};
use entity::{brand_account, team};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::Error;
use crate::events::{self, kind};

/// A brand account as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BrandAccountView {
    /// Id (the `brand_account_id` of conversations, figures and filters).
    pub id: i64,
    /// `facebook`, `instagram`, `whatsapp` or `x`.
    pub network: String,
    /// The network's id for the account.
    pub platform_account_id: String,
    /// What people call it.
    pub name: String,
    /// The team whose queue takes its new conversations when no team's routes match them.
    pub default_team_id: Option<i64>,
    /// When Chorus first saw it.
    pub created_at: DateTime<Utc>,
}

impl From<brand_account::Model> for BrandAccountView {
    fn from(a: brand_account::Model) -> Self {
        Self {
            id: a.id,
            network: a.network,
            platform_account_id: a.platform_account_id,
            name: a.name,
            default_team_id: a.default_team_id,
            created_at: a.created_at,
        }
    }
}

/// A change to a brand account; fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandAccountPatch {
    /// New name (1 to 100 printable characters).
    pub name: Option<String>,
    /// The team for its new conversations that no route matches; `null` for the general queue.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub default_team_id: Option<Option<i64>>,
}

/// `null` given is `Some(None)`; left out is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// Every brand account, by id.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<BrandAccountView>, Error> {
    let rows = brand_account::Entity::find().order_by_asc(brand_account::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(BrandAccountView::from).collect())
}

/// One brand account.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<BrandAccountView, Error> {
    let a = brand_account::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("brand account"))?;
    Ok(a.into())
}

/// Renames or changes the settings of an account; returns it before and after.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    patch: BrandAccountPatch,
) -> Result<(BrandAccountView, BrandAccountView), Error> {
    let found = brand_account::Entity::find_by_id(id).one(db).await?.ok_or(Error::NotFound("brand account"))?;
    let before = BrandAccountView::from(found.clone());
    let mut am: brand_account::ActiveModel = found.into();
    if let Some(name) = &patch.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::Validation("name must be 1 to 100 printable characters".into()));
        }
        am.name = Set(name.to_owned());
    }
    if let Some(team_id) = patch.default_team_id {
        if let Some(t) = team_id
            && team::Entity::find_by_id(t).one(db).await?.is_none()
        {
            return Err(Error::Validation(format!("default_team_id: there is no team {t}")));
        }
        am.default_team_id = Set(team_id);
    }
    let after = BrandAccountView::from(am.update(db).await?);
    events::append_one(db, kind::BRAND_ACCOUNT_CHANGED, serde_json::json!(after)).await?;
    Ok((before, after))
}
