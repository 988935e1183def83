//! The `grc` command line: `serve` (default) plus ops commands that share the server's config
//! and print JSON, for scripting and bootstrap.

use crate::{
    app, audit,
    config::Config,
    domain::{Plan, Role, ScopeSet},
    http, provision, store,
};
use clap::{Parser, Subcommand};
use serde_json::json;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "grc", version, about = "Multi-tenant GRC API server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the API server (the default).
    Serve,
    /// Organization and key administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the OpenAPI document (YAML) generated from the code.
    Openapi,
    /// WebAssembly check plugins: scaffold and build.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Evidence for CI/CD (reads GRC_BASE_URL, GRC_ORG_ID, GRC_API_KEY).
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// The reference agent: enroll this machine, then send heartbeats.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Compliance-package bundles.
    #[command(subcommand)]
    Package(PackageCommand),
    /// CI gate on a repository's score (reads GRC_BASE_URL, GRC_API_KEY, optional GRC_ORG_ID).
    /// Exits 0 only when the score was read and meets the threshold; 1 when it is below it or
    /// nothing was assessed; 2 on any error (network, HTTP, authentication, bad answer).
    Gate {
        /// Repository id.
        #[arg(long)]
        repo: i64,
        /// Lowest passing score, 0–100.
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100))]
        min_score: u32,
        /// Gate on one enabled framework's score instead of the overall score.
        #[arg(long)]
        framework: Option<String>,
        /// Also require this share (percent) of controls to be assessed.
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100))]
        min_coverage: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// Upload FILE through a presigned URL, verify its SHA-256 and link it to a control.
    /// Prints the lineage JSON; exits non-zero on any failure.
    Push {
        file: std::path::PathBuf,
        /// Control id, e.g. CC6.1.
        #[arg(long)]
        control: String,
        /// Framework key, e.g. SOC2 (case-insensitive).
        #[arg(long)]
        framework: Option<String>,
        #[arg(long)]
        assessment: Option<String>,
        /// When the evidence became true (YYYY-MM-DD or RFC 3339); default: now.
        #[arg(long)]
        effective_date: Option<String>,
        /// When it stops counting (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
        /// Default: guessed from the extension.
        #[arg(long)]
        content_type: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Generate a key pair, exchange an enrollment token and a CSR for an identity, and store
    /// it in DIR (key, certificate and credential with mode 0600).
    Enroll {
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        server: String,
        /// An enrollment token (`et-…`) from POST /api/v1/orgs/{org_id}/agents/enrollment-tokens.
        #[arg(long, env = "GRC_ENROLLMENT_TOKEN")]
        token: String,
        #[arg(long)]
        state: std::path::PathBuf,
    },
    /// Send heartbeats with this machine's facts until stopped.
    Run {
        #[arg(long)]
        state: std::path::PathBuf,
        /// e.g. 30s, 5m.
        #[arg(long, default_value = "30s", value_parser = crate::agent_cli::parse_interval)]
        interval: std::time::Duration,
        /// Send one heartbeat and exit.
        #[arg(long)]
        once: bool,
    },
}

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Scaffold a plugin crate from the SDK template.
    New {
        name: String,
        /// Namespaced check_type the plugin provides, e.g. acme.license_policy.
        #[arg(long)]
        check_type: Option<String>,
        /// Parent directory (default: current directory).
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
        /// Path to plugins/sdk (default: this source tree's SDK).
        #[arg(long)]
        sdk_path: Option<std::path::PathBuf>,
    },
    /// Build a plugin crate into an uploadable component (<crate>.component.wasm).
    Build { dir: std::path::PathBuf },
    /// Internal: the bounded compile worker the server runs for tenant components (reads
    /// limits and a component on stdin, writes the compiled artifact to stdout).
    #[command(hide = true)]
    CompileWorker,
}

impl Cli {
    /// The compile worker runs before any runtime, configuration or logging is set up.
    pub fn is_compile_worker(&self) -> bool {
        matches!(
            self.command,
            Some(Command::Plugin(PluginCommand::CompileWorker))
        )
    }
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an organization. Prints {"org_id": …}.
    CreateOrg {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "free")]
        plan: Plan,
    },
    /// Create an API key (and the user and membership if missing). Prints the key once.
    CreateKey {
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: Role,
        /// Comma-separated, e.g. "read:*,write:*".
        #[arg(long)]
        scopes: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[arg(long, default_value = "cli key")]
        name: String,
    },
    /// Change an organization's plan (audited). Prints {"org_id", "plan"}.
    SetPlan {
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long)]
        plan: Plan,
    },
}

#[derive(Subcommand)]
pub enum PackageCommand {
    /// Verify a bundle (`GET /v1/compliance/{package_id}/bundle`) offline: every file against
    /// SHA256SUMS and the signed statement, and the Ed25519 signature. Exits non-zero on any
    /// change.
    Verify {
        /// The bundle zip.
        bundle: std::path::PathBuf,
        /// The org's public key (PEM), from `GET /api/v1/orgs/{org_id}/signing-keys`. Without
        /// it, the key inside the bundle is used and the signer is not checked.
        #[arg(long)]
        key: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify an org's audit hash chain; exits non-zero on a broken link.
    Verify {
        #[arg(long)]
        org: uuid::Uuid,
    },
}

impl clap::ValueEnum for Plan {
    fn value_variants<'a>() -> &'a [Self] {
        &[Plan::Free, Plan::Team, Plan::Enterprise]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Role::Owner, Role::Admin, Role::Member, Role::Auditor]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let server = app::spawn(config).await?;
            let served = server.handle.await;
            // Stops the background work; the access lease is given back on the way out.
            server.state.background.cancel();
            let _ = server.lease.await;
            served??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::New {
            name,
            check_type,
            dir,
            sdk_path,
        }) => {
            let check_type =
                check_type.unwrap_or_else(|| format!("custom.{}", name.replace('-', "_")));
            let created =
                crate::plugin_cli::new_plugin(&dir, &name, &check_type, sdk_path.as_deref())?;
            println!("{created}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Build { dir }) => {
            println!("{}", crate::plugin_cli::build_plugin(&dir)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::CompileWorker) => {
            Ok(crate::plugins::compiler::worker_main())
        }
        Command::Evidence(EvidenceCommand::Push {
            file,
            control,
            framework,
            assessment,
            effective_date,
            expires_at,
            content_type,
        }) => {
            let target = crate::evidence_cli::Target::from_env()?;
            let lineage = crate::evidence_cli::push(
                &target,
                &crate::evidence_cli::PushArgs {
                    file,
                    control,
                    framework,
                    assessment,
                    effective_date,
                    expires_at,
                    content_type,
                },
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&lineage)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Gate {
            repo,
            min_score,
            framework,
            min_coverage,
        } => {
            let gate = crate::gate_cli::Gate {
                repo,
                min_score,
                framework,
                min_coverage,
            };
            Ok(match crate::gate_cli::run(&gate).await {
                Ok(crate::gate_cli::Verdict::Pass(line)) => {
                    println!("gate passed: {line}");
                    ExitCode::SUCCESS
                }
                Ok(crate::gate_cli::Verdict::Fail(line)) => {
                    eprintln!("gate failed: {line}");
                    ExitCode::from(1)
                }
                Err(err) => {
                    eprintln!("gate error: {err:#}");
                    ExitCode::from(2)
                }
            })
        }
        Command::Agent(AgentCommand::Enroll {
            server,
            token,
            state,
        }) => {
            let enrolled = crate::agent_cli::enroll(&server, &token, &state).await?;
            println!("{}", serde_json::to_string(&enrolled)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent(AgentCommand::Run {
            state,
            interval,
            once,
        }) => {
            crate::agent_cli::run(&state, interval, once).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print!("{}", http::docs::to_yaml(&http::openapi()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::CreateOrg { name, plan }) => {
            let db =
                store::open_existing(&config.database_url, config.database_app_url.as_deref(), 2)
                    .await?;
            let org = provision::create_org(&db, &name, plan, "system:cli").await?;
            println!(
                "{}",
                json!({ "org_id": org.id, "name": org.name, "plan": org.plan })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::CreateKey {
            org,
            email,
            role,
            scopes,
            expires_in_days,
            name,
        }) => {
            let scopes = ScopeSet::parse_list(&scopes).map_err(anyhow::Error::msg)?;
            let db =
                store::open_existing(&config.database_url, config.database_app_url.as_deref(), 2)
                    .await?;
            let org_id = org.to_string();
            let issued = provision::create_member_key(
                &db,
                provision::KeyRequest {
                    org_id: &org_id,
                    email: &email,
                    role,
                    scopes: &scopes,
                    expires_in_days,
                    name: &name,
                    actor: "system:cli",
                },
            )
            .await?;
            println!(
                "{}",
                json!({
                    "key": issued.secret.expose(),
                    "key_id": issued.record.id,
                    "user_id": issued.record.user_id,
                    "org_id": org_id,
                    "scopes": scopes.to_vec(),
                    "expires_at": issued.record.expires_at,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::SetPlan { org, plan }) => {
            let db =
                store::open_existing(&config.database_url, config.database_app_url.as_deref(), 2)
                    .await?;
            let org = provision::set_plan(&db, &org.to_string(), plan, "system:cli").await?;
            println!("{}", json!({ "org_id": org.id, "plan": org.plan }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Package(PackageCommand::Verify { bundle, key }) => {
            Ok(crate::package_cli::verify(&bundle, key.as_deref()))
        }
        Command::Audit(AuditCommand::Verify { org }) => {
            let db =
                store::open_existing(&config.database_url, config.database_app_url.as_deref(), 2)
                    .await?;
            let mut tx = db.tenant_tx(&org.to_string()).await?;
            // Never report "valid" about a chain that was not there to check.
            if store::orgs::current(&mut tx).await?.is_none() {
                anyhow::bail!(
                    "no organization with id {org} in {}; check --org and the database setting",
                    config.database_url
                );
            }
            let report = audit::verify(&mut tx).await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(if report.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_compile_worker_is_a_hidden_plugin_subcommand() {
        let cli = Cli::try_parse_from(["grc", "plugin", "compile-worker"]).expect("parses");
        assert!(cli.is_compile_worker());
        let serve = Cli::try_parse_from(["grc"]).expect("parses");
        assert!(!serve.is_compile_worker());
    }
}
