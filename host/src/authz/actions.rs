//! The actions and resource kinds the host asks Cedar about. Their names match
//! `policies/schema.cedarschema`; a unit test checks that every action here exists there.

use serde::Serialize;

/// One Cedar action. Adding a route means adding (or reusing) an action here and in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Action {
    OrgRead,
    MemberList,
    MemberRead,
    MemberCreate,
    MemberUpdate,
    MemberDelete,
    ApiKeyList,
    ApiKeyCreate,
    ApiKeyRevoke,
    PolicyList,
    PolicyRead,
    PolicyValidate,
    PolicyCreate,
    PolicyUpdate,
    PolicyDelete,
    AuthzExplain,
    AuditRead,
    AuditVerify,
    PluginList,
    PluginRead,
    PluginDryRun,
    PluginUpload,
    PluginUpdate,
    PluginDelete,
    ComplianceRead,
    ComplianceConfigure,
    RepoList,
    RepoRead,
    RepoCreate,
    RepoUpdate,
    RepoDelete,
    ScanList,
    ScanRead,
    ScanCreate,
    ScanRescore,
    EvidenceUploadUrl,
    EvidenceVerify,
    EvidenceLink,
    EvidenceList,
    EvidenceRead,
    EvidenceDownload,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::OrgRead,
        Action::MemberList,
        Action::MemberRead,
        Action::MemberCreate,
        Action::MemberUpdate,
        Action::MemberDelete,
        Action::ApiKeyList,
        Action::ApiKeyCreate,
        Action::ApiKeyRevoke,
        Action::PolicyList,
        Action::PolicyRead,
        Action::PolicyValidate,
        Action::PolicyCreate,
        Action::PolicyUpdate,
        Action::PolicyDelete,
        Action::AuthzExplain,
        Action::AuditRead,
        Action::AuditVerify,
        Action::PluginList,
        Action::PluginRead,
        Action::PluginDryRun,
        Action::PluginUpload,
        Action::PluginUpdate,
        Action::PluginDelete,
        Action::ComplianceRead,
        Action::ComplianceConfigure,
        Action::RepoList,
        Action::RepoRead,
        Action::RepoCreate,
        Action::RepoUpdate,
        Action::RepoDelete,
        Action::ScanList,
        Action::ScanRead,
        Action::ScanCreate,
        Action::ScanRescore,
        Action::EvidenceUploadUrl,
        Action::EvidenceVerify,
        Action::EvidenceLink,
        Action::EvidenceList,
        Action::EvidenceRead,
        Action::EvidenceDownload,
    ];

    pub fn cedar_id(self) -> &'static str {
        match self {
            Action::OrgRead => "org.read",
            Action::MemberList => "member.list",
            Action::MemberRead => "member.read",
            Action::MemberCreate => "member.create",
            Action::MemberUpdate => "member.update",
            Action::MemberDelete => "member.delete",
            Action::ApiKeyList => "apikey.list",
            Action::ApiKeyCreate => "apikey.create",
            Action::ApiKeyRevoke => "apikey.revoke",
            Action::PolicyList => "policy.list",
            Action::PolicyRead => "policy.read",
            Action::PolicyValidate => "policy.validate",
            Action::PolicyCreate => "policy.create",
            Action::PolicyUpdate => "policy.update",
            Action::PolicyDelete => "policy.delete",
            Action::AuthzExplain => "authz.explain",
            Action::AuditRead => "audit.read",
            Action::AuditVerify => "audit.verify",
            Action::PluginList => "plugin.list",
            Action::PluginRead => "plugin.read",
            Action::PluginDryRun => "plugin.dry_run",
            Action::PluginUpload => "plugin.upload",
            Action::PluginUpdate => "plugin.update",
            Action::PluginDelete => "plugin.delete",
            Action::ComplianceRead => "compliance.read",
            Action::ComplianceConfigure => "compliance.configure",
            Action::RepoList => "repo.list",
            Action::RepoRead => "repo.read",
            Action::RepoCreate => "repo.create",
            Action::RepoUpdate => "repo.update",
            Action::RepoDelete => "repo.delete",
            Action::ScanList => "scan.list",
            Action::ScanRead => "scan.read",
            Action::ScanCreate => "scan.create",
            Action::ScanRescore => "scan.rescore",
            Action::EvidenceUploadUrl => "evidence.upload_url",
            Action::EvidenceVerify => "evidence.verify",
            Action::EvidenceLink => "evidence.link",
            Action::EvidenceList => "evidence.list",
            Action::EvidenceRead => "evidence.read",
            Action::EvidenceDownload => "evidence.download",
        }
    }
}

/// The resource a request acts on. It is always built inside the request's org.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The org itself (collections such as "the org's members" are represented by the org).
    Org,
    Member(String),
    ApiKey(String),
    AccessPolicy(String),
    AuditLog,
    Plugin(String),
    Repository(i64),
}

impl Resource {
    /// Cedar entity type and id. Singletons (org, audit log) use the org id.
    pub fn cedar_parts(&self, org_id: &str) -> (&'static str, String) {
        match self {
            Resource::Org => ("Org", org_id.to_owned()),
            Resource::Member(id) => ("Member", id.clone()),
            Resource::ApiKey(id) => ("ApiKey", id.clone()),
            Resource::AccessPolicy(id) => ("AccessPolicy", id.clone()),
            Resource::AuditLog => ("AuditLog", org_id.to_owned()),
            Resource::Plugin(id) => ("Plugin", id.clone()),
            Resource::Repository(id) => ("Repository", id.to_string()),
        }
    }
}

/// Extra, action-specific context the host supplies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ContextExtras {
    /// member.create / member.update: the role being granted.
    pub grants_role: Option<String>,
    /// apikey.create: the concrete scopes requested for the new key.
    pub requested_scopes: Option<Vec<String>>,
}
