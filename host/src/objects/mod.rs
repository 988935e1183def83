//! Evidence object storage. Every access goes through `aws-sdk-s3` (presigned PUT and GET,
//! HeadObject, a streamed GetObject for verification, DeleteObject), whatever the store is:
//! the embedded S3 endpoint ([`embedded`], the default), any S3-compatible service (R2, MinIO,
//! Garage, AWS) by configuration, or none at all (`GRC_OBJECT_STORE=none` → 503s).

pub mod embedded;

use crate::config::Config;
use anyhow::Context;
use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation,
    },
    presigning::PresigningConfig,
};
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Verification reads objects in ranges of this size…
const PART_BYTES: u64 = 4 * 1024 * 1024;
/// …with this many in flight (bounding the memory a verification holds).
const PARTS_IN_FLIGHT: usize = 4;

/// The embedded store's bucket.
pub const EMBEDDED_BUCKET: &str = "evidence";

/// A configured S3-compatible store.
pub struct ObjectStore {
    client: Client,
    bucket: String,
    /// Where presigned URLs point (for logs and docs).
    pub endpoint: String,
    pub upload_ttl: Duration,
    pub download_ttl: Duration,
    pub max_size: u64,
}

/// Storage failed (unreachable, misconfigured, refused): the request gets a 503.
#[derive(Debug, thiserror::Error)]
#[error("object storage error: {0}")]
pub struct StorageError(String);

fn storage_error(e: impl std::fmt::Display) -> StorageError {
    StorageError(e.to_string())
}

/// What a streamed read of an object measured.
pub struct Digest256 {
    pub sha256: String,
    pub size: u64,
    /// The store's entity tag of what was read; a later HEAD with another tag means the
    /// object was replaced.
    pub etag: Option<String>,
}

/// HeadObject's answer.
pub struct Head {
    pub size: u64,
    pub etag: Option<String>,
}

impl ObjectStore {
    /// Builds the store the configuration asks for; `None` when storage is turned off.
    /// The embedded endpoint is started here, on its own listener.
    pub async fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let mode = match config.object_store.trim() {
            "" if config.s3_endpoint.is_some() => "s3",
            "" => "embedded",
            other => other,
        };
        let (endpoint, bucket, region, access_key, secret, path_style) = match mode {
            "none" => return Ok(None),
            "embedded" => {
                let started = embedded::start(
                    &config.data_dir,
                    &config.s3_embedded_listen,
                    config.evidence_max_size,
                )
                .await?;
                (
                    started.endpoint,
                    EMBEDDED_BUCKET.to_owned(),
                    "us-east-1".to_owned(),
                    started.access_key_id,
                    started.secret_access_key,
                    true,
                )
            }
            "s3" => (
                config.s3_endpoint.clone().context(
                    "GRC_S3_ENDPOINT (or CF_ACCOUNT_ID) is required for object_store=s3",
                )?,
                config
                    .s3_bucket
                    .clone()
                    .context("GRC_S3_BUCKET (or R2_BUCKET) is required for object_store=s3")?,
                config
                    .s3_region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".into()),
                config
                    .s3_access_key_id
                    .clone()
                    .context("GRC_S3_ACCESS_KEY_ID (or R2_ACCESS_KEY_ID) is required")?,
                config
                    .s3_secret_access_key
                    .as_ref()
                    .context("GRC_S3_SECRET_ACCESS_KEY (or R2_SECRET_ACCESS_KEY) is required")?
                    .expose_secret()
                    .to_owned(),
                config.s3_force_path_style.unwrap_or(true),
            ),
            other => anyhow::bail!("unknown object_store {other:?}: use embedded, s3 or none"),
        };
        let s3_config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new(access_key, secret, None, None, "grc"))
            .force_path_style(path_style)
            // Presigned PUTs must not carry a checksum of an empty body; clients send raw bytes.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Ok(Some(ObjectStore {
            client: Client::from_conf(s3_config),
            bucket,
            endpoint,
            upload_ttl: Duration::from_secs(config.evidence_upload_ttl_secs),
            download_ttl: Duration::from_secs(config.evidence_download_ttl_secs),
            max_size: config.evidence_max_size,
        }))
    }

    /// A presigned PUT for `key`, valid for the upload TTL. No headers are signed besides
    /// `host`, so any client can PUT raw bytes with whatever content type it likes.
    pub async fn presign_put(&self, key: &str) -> Result<String, StorageError> {
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(PresigningConfig::expires_in(self.upload_ttl).map_err(storage_error)?)
            .await
            .map_err(storage_error)?;
        Ok(presigned.uri().to_owned())
    }

    /// A presigned GET for `key`, valid for the download TTL.
    pub async fn presign_get(&self, key: &str, filename: &str) -> Result<String, StorageError> {
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .presigned(PresigningConfig::expires_in(self.download_ttl).map_err(storage_error)?)
            .await
            .map_err(storage_error)?;
        Ok(presigned.uri().to_owned())
    }

    /// The object's size and entity tag, or `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<Head>, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(Head {
                size: head
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: head.e_tag().map(str::to_owned),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(storage_error(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    /// Streams the object through SHA-256 in bounded memory; `None` when it does not exist.
    ///
    /// The object is read as consecutive ranges of [`PART_BYTES`], up to [`PARTS_IN_FLIGHT`]
    /// fetched concurrently and hashed in order, so at most `PART_BYTES × PARTS_IN_FLIGHT` is
    /// buffered whatever the object's size. Concurrent ranges keep a store that serves one
    /// connection slowly (small read chunks, per-request latency) from bounding verification.
    /// `head` is the caller's HeadObject answer for `key` (its size bounds the ranges).
    pub async fn digest(&self, key: &str, head: Head) -> Result<Option<Digest256>, StorageError> {
        let ranges = (0..head.size.div_ceil(PART_BYTES)).map(|i| {
            let start = i * PART_BYTES;
            (start, (start + PART_BYTES).min(head.size) - 1)
        });
        let mut parts = futures_util::stream::iter(ranges)
            .map(|(start, end)| self.range(key, start, end))
            .buffered(PARTS_IN_FLIGHT);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(part) = parts.next().await {
            let Some(bytes) = part? else {
                return Ok(None);
            };
            size += bytes.len() as u64;
            hasher.update(&bytes);
        }
        Ok(Some(Digest256 {
            sha256: hex::encode(hasher.finalize()),
            size,
            etag: head.etag,
        }))
    }

    /// Bytes `start..=end` of the object; `None` when it vanished.
    async fn range(
        &self,
        key: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<axum::body::Bytes>, StorageError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={start}-{end}"))
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(storage_error(aws_sdk_s3::error::DisplayErrorContext(e))),
        };
        let bytes = object.body.collect().await.map_err(storage_error)?;
        Ok(Some(bytes.into_bytes()))
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| storage_error(aws_sdk_s3::error::DisplayErrorContext(e)))
    }
}
