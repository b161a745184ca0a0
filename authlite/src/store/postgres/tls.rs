//! How a PostgreSQL URL asks to be reached (DESIGN §10): TLS with rustls unless the server
//! is on this machine or `sslmode=disable` says otherwise, the server's certificate chain
//! always verified (system roots or `sslrootcert=FILE`), its host name too unless
//! `sslmode=verify-ca`. There is no silent fallback to plaintext: `prefer` and `allow` are
//! `require`, and `require` verifies like `verify-ca`.

use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::values::error::{Error, ErrorKind, Result};

/// How connections reach the server.
#[derive(Clone)]
pub(super) enum Transport {
    /// Plaintext: `sslmode=disable`, or a server on loopback or a Unix socket.
    Plain,
    /// TLS, verified.
    Tls(MakeRustlsConnect),
}

/// The client settings and transport `url` asks for; a `Config` error naming what is wrong.
pub(super) fn parse(url: &str) -> Result<(tokio_postgres::Config, Transport)> {
    let (rest, mode, root) = take_tls_params(url)?;
    let mut config = tokio_postgres::Config::from_str(&rest)
        .map_err(|e| config_error(format!("invalid PostgreSQL URL: {e}")))?;
    let verify = match (mode.as_deref(), &root) {
        (Some("disable"), Some(_)) => {
            return Err(config_error("sslrootcert is set but sslmode=disable turns TLS off"));
        }
        (Some("disable"), None) => None,
        (None, None) if is_local(&config) => None,
        (None, _) | (Some("verify-full"), _) => Some(Verify::ChainAndHost),
        (Some("allow" | "prefer" | "require" | "verify-ca"), _) => Some(Verify::Chain),
        (Some(other), _) => {
            return Err(config_error(format!(
                "sslmode={other} is not one of disable, require, verify-ca, verify-full"
            )));
        }
    };
    let Some(verify) = verify else {
        config.ssl_mode(SslMode::Disable);
        return Ok((config, Transport::Plain));
    };
    config.ssl_mode(SslMode::Require);
    let connector = MakeRustlsConnect::new(client_config(root.as_deref(), verify)?);
    Ok((config, Transport::Tls(connector)))
}

/// `url` without `sslmode` and `sslrootcert` (which the client library does not know or
/// would weaken), and their values.
fn take_tls_params(url: &str) -> Result<(String, Option<String>, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None, None));
    };
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(percent_decode(value)?),
            "sslrootcert" => root = Some(percent_decode(value)?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, mode, root))
}

fn percent_decode(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(byte.ok_or_else(|| config_error("invalid percent-encoding in the URL"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| config_error("invalid UTF-8 in the URL"))
}

/// Whether every address the client would dial is on this machine: Unix sockets,
/// `localhost` and loopback addresses (`hostaddr` decides where it is given).
fn is_local(config: &tokio_postgres::Config) -> bool {
    let addrs = config.get_hostaddrs();
    if !addrs.is_empty() {
        return addrs.iter().all(IpAddr::is_loopback);
    }
    config.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verify {
    /// The chain up to a trusted root (`verify-ca`, `require`).
    Chain,
    /// The chain and that the certificate names the host dialled (`verify-full`).
    ChainAndHost,
}

fn client_config(root: Option<&str>, verify: Verify) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(trusted_roots(root)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| config_error(format!("cannot use the trusted roots: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::ChainAndHost => webpki,
        Verify::Chain => Arc::new(AnyName(webpki)),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// The CA certificates of `sslrootcert` (a PEM file), or the system's trust store when it
/// is absent or `system` (libpq's spelling).
fn trusted_roots(root: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        Some(file) if file != "system" => {
            let path = Path::new(file);
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| config_error(format!("cannot read sslrootcert {file}: {e}")))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(config_error(format!("sslrootcert {file} holds no CA certificate")));
            }
        }
        _ => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(config_error(
                    "no trusted root certificates on this system: install ca-certificates \
                     or set sslrootcert=FILE",
                ));
            }
        }
    }
    Ok(store)
}

/// `verify-ca`: the chain is verified; a certificate for another name is accepted.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A connection failure, with a hint for the TLS causes a user can fix.
pub(super) fn explain(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    let hint = if text.contains("UnknownIssuer") {
        " (the server's certificate is not signed by a trusted CA: set sslrootcert=FILE to \
         the server's CA certificate)"
    } else if text.contains("NotValidForName") || text.contains("not valid for name") {
        " (the server's certificate does not name the host dialled: connect by a name it \
         lists, or use sslmode=verify-ca)"
    } else if text.contains("server does not support TLS") {
        " (the server has TLS off: turn on ssl there, or sslmode=disable on a network you trust)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

fn config_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::Config, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> &'static str {
        match parse(url).unwrap().1 {
            Transport::Plain => "plain",
            Transport::Tls(_) => "tls",
        }
    }

    #[test]
    fn tls_is_required_off_this_machine_unless_disabled() {
        assert_eq!(mode("postgres://u@db.internal/auth"), "tls");
        assert_eq!(mode("postgres://u@10.0.0.5/auth"), "tls");
        assert_eq!(mode("postgres://u@localhost/auth"), "plain");
        assert_eq!(mode("postgres://u@127.0.0.1:5432/auth"), "plain");
        assert_eq!(mode("postgres://u@[::1]/auth"), "plain");
        assert_eq!(mode("postgres://u@%2Fvar%2Frun%2Fpostgresql/auth"), "plain");
        assert_eq!(mode("postgres://u@db/auth?sslmode=disable"), "plain");
        assert_eq!(mode("postgres://u@localhost/auth?sslmode=require"), "tls");
        assert_eq!(mode("postgres://u@localhost/auth?sslmode=prefer"), "tls", "never a fallback");
        assert_eq!(mode("postgres://u@localhost/auth?host=db.example.com"), "tls");
        assert_eq!(mode("postgres://u@db.example.com/auth?hostaddr=127.0.0.1"), "plain");
    }

    #[test]
    fn the_tls_parameters_are_taken_out_and_the_rest_kept() {
        let (rest, mode, root) = take_tls_params(
            "postgres://u@h/d?sslmode=verify-ca&options=-c%20x&sslrootcert=%2Fca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h/d?options=-c%20x");
        assert_eq!(mode.as_deref(), Some("verify-ca"));
        assert_eq!(root.as_deref(), Some("/ca.pem"));
    }

    #[test]
    fn bad_tls_settings_are_config_errors_that_name_the_cause() {
        let err = |url| match parse(url) {
            Err(e) => e,
            Ok(_) => panic!("{url} was accepted"),
        };
        let e = err("postgres://u@db/auth?sslmode=sometimes");
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("sslmode=sometimes"), "{e}");
        let e = err("postgres://u@db/auth?sslrootcert=/nonexistent/ca.pem");
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        let e = err("postgres://u@db/auth?sslmode=disable&sslrootcert=/ca.pem");
        assert_eq!(e.kind(), ErrorKind::Config);
        let e = err("postgres://u@db/auth?sslrootcert=%zz");
        assert_eq!(e.kind(), ErrorKind::Config);
    }
}
