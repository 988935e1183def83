//! Each org's agent certificate authority (rcgen): created on first enrollment, it signs one
//! short-lived client certificate per agent from the agent's own CSR. The CA key only exists in
//! memory while signing; at rest it is sealed (`seal`).

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// How long an org's CA is valid.
const CA_VALIDITY_DAYS: i64 = 3650;
/// Agent certificates are valid from a little before issue, for clocks that run behind.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A freshly created CA: its certificate (public) and its private key (to be sealed).
pub struct NewCa {
    pub cert_pem: String,
    pub key_pem: String,
    pub fingerprint: String,
    pub not_after: String,
}

/// A certificate issued to an agent.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub serial: String,
    pub fingerprint: String,
    pub not_after: String,
}

/// Why a CSR was refused; the message is shown to the client.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CsrError(pub String);

/// The SAN URI that names an agent: `urn:grc:org:<org>:agent:<agent>`.
pub fn agent_uri(org_id: &str, agent_id: &str) -> String {
    format!("urn:grc:org:{org_id}:agent:{agent_id}")
}

/// Hex SHA-256 of a certificate's DER: the fingerprint agents and operators compare.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn stored_time(t: OffsetDateTime) -> String {
    let at = chrono::DateTime::from_timestamp(t.unix_timestamp(), 0).unwrap_or_default();
    crate::domain::time::format(at)
}

/// Creates the CA for `org_id`: ECDSA P-256, path length 0 (it signs only end-entity
/// certificates), key usages limited to signing certificates and CRLs.
pub fn create(org_id: &str) -> anyhow::Result<NewCa> {
    let key = KeyPair::generate().context("generating the CA key")?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("GRC agent CA {org_id}"));
    dn.push(DnType::OrganizationName, org_id.to_owned());
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
    params.serial_number = Some(random_serial());
    let cert = params.self_signed(&key).context("self-signing the CA")?;
    Ok(NewCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        fingerprint: fingerprint(cert.der()),
        not_after: stored_time(params.not_after),
    })
}

/// Checks a CSR (PEM, PKCS#10): it must parse and its signature must verify (the agent holds
/// the private key). Nothing else in it is trusted: the certificate's names, usages and
/// validity are the server's.
pub fn parse_csr(csr_pem: &str) -> Result<CertificateSigningRequestParams, CsrError> {
    if !csr_pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        return Err(CsrError(
            "csr must be a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----)"
                .into(),
        ));
    }
    CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| {
        CsrError(match e {
            rcgen::Error::InvalidCertificationRequestSignature => {
                "csr signature does not verify".into()
            }
            rcgen::Error::UnsupportedExtension => {
                "csr carries an extension the server does not accept (send subject and key only)"
                    .into()
            }
            other => format!("csr could not be parsed: {other}"),
        })
    })
}

/// Signs a client certificate for `agent_id` with the org's CA: subject CN = agent id, O = org
/// id; SAN = [`agent_uri`]; client-auth EKU only; valid for `validity`.
pub fn issue(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    csr: &CertificateSigningRequestParams,
    org_id: &str,
    agent_id: &str,
    validity: std::time::Duration,
) -> anyhow::Result<IssuedCert> {
    let ca_key = KeyPair::from_pem(ca_key_pem).context("loading the CA key")?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).context("loading the CA")?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, agent_id.to_owned());
    dn.push(DnType::OrganizationName, org_id.to_owned());
    params.distinguished_name = dn;
    params.subject_alt_names = vec![SanType::URI(
        agent_uri(org_id, agent_id)
            .try_into()
            .context("agent URI is ASCII")?,
    )];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::seconds(i64::try_from(validity.as_secs()).unwrap_or(0));
    let serial = random_serial();
    params.serial_number = Some(serial.clone());
    let cert = params
        .signed_by(&csr.public_key, &issuer)
        .context("signing the agent certificate")?;
    Ok(IssuedCert {
        cert_pem: cert.pem(),
        serial: hex::encode(serial.to_bytes()),
        fingerprint: fingerprint(cert.der()),
        not_after: stored_time(params.not_after),
    })
}

/// Whether `certificate` (DER) carries a valid signature by the CA in `ca_cert_pem`.
pub fn signed_by(certificate: &[u8], ca_cert_pem: &str) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let Ok(ca) = ::pem::parse(ca_cert_pem) else {
        return false;
    };
    let (Ok((_, ca)), Ok((_, cert))) = (
        X509Certificate::from_der(ca.contents()),
        X509Certificate::from_der(certificate),
    ) else {
        return false;
    };
    cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// 16 random bytes, top bit clear (a positive INTEGER of at most 128 bits).
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// A new key pair and CSR, as an agent makes them (the CLI agent and the tests).
pub fn new_key_and_csr(common_name: &str) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name.to_owned());
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.pem()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    #[test]
    fn issued_certificates_chain_to_the_org_ca_and_name_the_agent() {
        let ca = create("org-1").expect("ca");
        let (_key, csr_pem) = new_key_and_csr("laptop-7").expect("csr");
        let csr = parse_csr(&csr_pem).expect("valid csr");
        let issued = issue(
            &ca.cert_pem,
            &ca.key_pem,
            &csr,
            "org-1",
            "agent-9",
            std::time::Duration::from_secs(3600),
        )
        .expect("issued");

        let ca_der = ::pem::parse(&ca.cert_pem).expect("pem");
        let (_, ca_cert) = X509Certificate::from_der(ca_der.contents()).expect("ca parses");
        let der = ::pem::parse(&issued.cert_pem).expect("pem");
        let (_, cert) = X509Certificate::from_der(der.contents()).expect("cert parses");
        cert.verify_signature(Some(ca_cert.public_key()))
            .expect("signed by the CA");
        assert_eq!(cert.issuer(), ca_cert.subject());
        assert!(ca_cert.is_ca());
        assert!(!cert.is_ca());
        let eku = cert
            .extended_key_usage()
            .expect("ok")
            .expect("eku present")
            .value;
        assert!(eku.client_auth && !eku.server_auth);
        let san = cert
            .subject_alternative_name()
            .expect("ok")
            .expect("san present");
        assert!(san.value.general_names.iter().any(|n| matches!(n,
            GeneralName::URI(u) if *u == "urn:grc:org:org-1:agent:agent-9")));
        let cn = cert.subject().iter_common_name().next().expect("cn");
        assert_eq!(cn.as_str().expect("utf8"), "agent-9");
        assert_eq!(issued.fingerprint, fingerprint(der.contents()));
        let lifetime =
            cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert!(lifetime <= 3600 + 300, "short validity: {lifetime}");
    }

    #[test]
    fn bad_csrs_are_refused_with_a_reason() {
        assert!(parse_csr("not a csr").is_err());
        let (_key, csr_pem) = new_key_and_csr("x").expect("csr");
        // Flip one character inside the base64 body: either the DER or its signature breaks.
        let mut lines: Vec<String> = csr_pem.lines().map(str::to_owned).collect();
        let target = &mut lines[3];
        let flipped: String = target
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 10 {
                    if c == 'A' { 'B' } else { 'A' }
                } else {
                    c
                }
            })
            .collect();
        *target = flipped;
        assert!(parse_csr(&lines.join("\n")).is_err());
    }
}
