//! `grc evidence push FILE --control CC6.1 [--framework SOC2] [--effective-date …]`: the seed-000
//! four-step flow for CI/CD. Reads `GRC_BASE_URL`, `GRC_ORG_ID` and `GRC_API_KEY` (the seed's
//! names), hashes the file (streamed), asks for an upload URL, streams the PUT (with a progress
//! bar on a terminal), verifies, links, and prints the lineage JSON. Any failure is an error
//! naming the step and the server's answer.

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::{io::IsTerminal, path::PathBuf};
use tokio::io::AsyncReadExt;

pub struct PushArgs {
    pub file: PathBuf,
    pub control: String,
    pub framework: Option<String>,
    pub assessment: Option<String>,
    pub effective_date: Option<String>,
    pub expires_at: Option<String>,
    pub content_type: Option<String>,
}

/// Where and as whom to push: the seed's three variables.
pub struct Target {
    pub base_url: String,
    pub org_id: String,
    pub api_key: String,
}

impl Target {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .with_context(|| format!("{name} is not set"))
        };
        Ok(Target {
            base_url: var("GRC_BASE_URL")?.trim_end_matches('/').to_owned(),
            org_id: var("GRC_ORG_ID")?,
            api_key: var("GRC_API_KEY")?,
        })
    }
}

fn content_type_for(file: &std::path::Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("png") => "image/png",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// SHA-256 and size of a file, read in 1 MiB chunks.
async fn hash_file(path: &std::path::Path) -> anyhow::Result<(String, u64)> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// The JSON answer of a successful call, or an error naming the step and the server's detail.
pub(crate) async fn answer(step: &str, resp: reqwest::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .map(|v| v.get("detail").cloned().unwrap_or(v).to_string())
            .unwrap_or(text);
        bail!("{step} failed: HTTP {status}: {detail}");
    }
    serde_json::from_str(&text).with_context(|| format!("{step}: the answer is not JSON"))
}

/// Runs the four steps and returns the lineage JSON.
pub async fn push(target: &Target, args: &PushArgs) -> anyhow::Result<Value> {
    let filename = args
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .context("the file has no usable name")?
        .to_owned();
    let (sha256, size) = hash_file(&args.file).await?;
    let content_type = args
        .content_type
        .clone()
        .unwrap_or_else(|| content_type_for(&args.file).to_owned());
    let client = reqwest::Client::new();
    let base = format!("{}/api/v1/orgs/{}/evidence", target.base_url, target.org_id);
    let auth = format!("Bearer {}", target.api_key);

    let up = answer(
        "upload-url",
        client
            .post(format!("{base}/upload-url"))
            .header("Authorization", &auth)
            .json(&json!({
                "filename": filename, "content_type": content_type, "control_id": args.control,
                "size": size, "sha256": sha256,
                "effective_date": args.effective_date, "expires_at": args.expires_at,
            }))
            .send()
            .await
            .context("upload-url: the server is unreachable")?,
    )
    .await?;
    let upload_url = up["upload_url"]
        .as_str()
        .context("upload-url: no upload_url")?;
    let object_key = up["object_key"]
        .as_str()
        .context("upload-url: no object_key")?;

    let file = tokio::fs::File::open(&args.file).await?;
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(filename.clone());
        bar
    });
    let counter = progress.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20).inspect(move |chunk| {
        if let (Some(bar), Ok(bytes)) = (&counter, chunk) {
            bar.inc(bytes.len() as u64);
        }
    });
    let put = client
        .put(upload_url)
        .header("Content-Type", &content_type)
        .header("Content-Length", size)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .context("upload: object storage is unreachable")?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if !put.status().is_success() {
        let status = put.status();
        let body = put.text().await.unwrap_or_default();
        bail!("upload failed: HTTP {status} from object storage: {body}");
    }

    answer(
        "verify",
        client
            .post(format!("{base}/verify"))
            .header("Authorization", &auth)
            .json(&json!({ "object_key": object_key, "expected_hash": sha256 }))
            .send()
            .await?,
    )
    .await?;
    answer(
        "link-to-control",
        client
            .post(format!("{base}/{sha256}/link-to-control"))
            .header("Authorization", &auth)
            .json(&json!({
                "control_id": args.control, "framework_id": args.framework,
                "assessment_id": args.assessment, "object_key": object_key,
            }))
            .send()
            .await?,
    )
    .await
}
