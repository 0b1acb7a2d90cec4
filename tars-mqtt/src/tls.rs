//! TLS for `mqtts://`: rustls with the ring provider, the system roots plus an optional CA file.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::MqttConfig;
use crate::error::ConfigError;

pub(crate) fn client_config(config: &MqttConfig) -> Result<ClientConfig, ConfigError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A malformed system certificate should not keep the service from trusting the others.
        let _ = roots.add(cert);
    }
    if let Some(path) = &config.ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<_, _>>())
            .map_err(|e| {
                ConfigError::Tls(format!("cannot read CA file {}: {e}", path.display()))
            })?;
        if certs.is_empty() {
            return Err(ConfigError::Tls(format!(
                "CA file {} holds no certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| ConfigError::Tls(format!("CA file {}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(ConfigError::Tls(
            "no trusted root certificates: install the system CA bundle or set MQTT_CA_FILE"
                .to_owned(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
