//! The operating system's trusted CA certificates, for the network stores' `verify-identity` TLS.
//!
//! A server certificate is trusted when it chains to the built-in web roots (the drivers' own),
//! to the store's `tls_ca_file`, or to a CA the machine trusts: its certificate store as
//! `rustls-native-certs` finds it (on Linux the distribution's bundle, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set). The last is how a company CA installed on a job node is honoured
//! without a config change. Read once per process; certificates rustls cannot use are skipped
//! (one odd entry in a system bundle must not break every connection), and failures to read the
//! store are logged, not fatal: the other roots still apply.

use std::sync::OnceLock;

use rustls::pki_types::CertificateDer;

/// The machine's trusted CA certificates that rustls accepts as roots (DER).
pub fn os_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "cannot read some of this machine's trusted CA certificates; the built-in roots and tls_ca_file still apply");
        }
        let mut probe = rustls::RootCertStore::empty();
        let usable: Vec<_> = found
            .certs
            .into_iter()
            .filter(|c| probe.add(c.clone()).is_ok())
            .collect();
        tracing::debug!(
            certificates = usable.len(),
            "loaded this machine's trusted CA certificates"
        );
        usable
    })
}
