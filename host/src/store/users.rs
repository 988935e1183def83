//! Users: global identities. One person (email) may belong to several orgs.

use crate::domain::time;
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::StoreResult;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub created_at: String,
}

fn from_row(r: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Finds a user by id or (case-insensitive) email.
pub async fn find(conn: &mut AnyConnection, id_or_email: &str) -> StoreResult<Option<User>> {
    let row =
        sqlx::query("SELECT id, email, created_at FROM users WHERE id = $1 OR email = $2 LIMIT 1")
            .bind(id_or_email)
            .bind(id_or_email.to_ascii_lowercase())
            .fetch_optional(conn)
            .await?;
    row.as_ref().map(from_row).transpose()
}

/// Returns the user with this email, creating it if missing. Emails are stored lower-cased.
pub async fn find_or_create(conn: &mut AnyConnection, email: &str) -> StoreResult<User> {
    let email = email.trim().to_ascii_lowercase();
    if let Some(user) = find(&mut *conn, &email).await? {
        return Ok(user);
    }
    // Another org may be adding the same person right now: whoever inserts second reads the
    // first one's row instead of failing on the unique email.
    sqlx::query(
        "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&email)
    .bind(time::now())
    .execute(&mut *conn)
    .await?;
    find(conn, &email).await?.ok_or(sqlx::Error::RowNotFound)
}
