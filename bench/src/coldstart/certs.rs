//! The certificate store a function finds when it starts. The SDK's TLS stack (rustls with the
//! platform's roots) reads the CA bundle and then every file of the certificate directory while
//! the clients are built, i.e. during init. On Lambda's `provided.al2023` (the Fedora layout:
//! `/etc/ssl/certs` → `/etc/pki/tls/certs`) that directory holds the bundles only. Debian's
//! `/etc/ssl/certs`, on this machine, holds one file per CA plus hash links (about 290
//! entries), which adds about 2 ms to every init here that Lambda never pays. By default the
//! bench gives each function an AL2023-like store: the host's bundle, alone in its directory.
//!
//! Since 2026-12-03 the functions trust Amazon Trust Services' roots, compiled in
//! (`chat_aws::TrustRoots`), and read no store at all unless `CHAT_TLS_ROOTS=platform` or
//! `AWS_ENDPOINT_URL` is set. The bench sets `AWS_ENDPOINT_URL` when it has an emulator, so
//! it passes `CHAT_TLS_ROOTS=amazon` to measure the init a deployed function has.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Which certificate store the functions see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum CertLayout {
    /// The host's bundle alone in a directory, as on `provided.al2023`.
    Al2023,
    /// Whatever this machine has (`/etc/ssl/certs` as is).
    Host,
}

/// Where the host keeps its CA bundle, Debian first, then the Fedora family.
const BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// An AL2023-like store: `SSL_CERT_FILE` and `SSL_CERT_DIR` for the functions' environment.
pub struct CertStore {
    dir: tempfile::TempDir,
    bundle: PathBuf,
}

impl CertStore {
    /// `None` for [`CertLayout::Host`]: the functions then read the host's store as it is.
    pub fn for_layout(layout: CertLayout) -> anyhow::Result<Option<CertStore>> {
        if layout == CertLayout::Host {
            return Ok(None);
        }
        let host_bundle = BUNDLES
            .iter()
            .map(Path::new)
            .find(|path| path.is_file())
            .context("no CA bundle found (looked for /etc/ssl/certs/ca-certificates.crt and /etc/pki/tls/certs/ca-bundle.crt); use --cert-layout host")?;
        let dir = tempfile::tempdir()?;
        let bundle = dir.path().join("ca-bundle.crt");
        std::fs::copy(host_bundle, &bundle)
            .with_context(|| format!("copying {}", host_bundle.display()))?;
        Ok(Some(CertStore { dir, bundle }))
    }

    /// The environment that points rustls' platform roots at this store.
    pub fn env(&self) -> [(&'static str, &Path); 2] {
        [
            ("SSL_CERT_FILE", self.bundle.as_path()),
            ("SSL_CERT_DIR", self.dir.path()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_al2023_store_is_one_bundle_alone_in_its_directory() -> anyhow::Result<()> {
        assert!(CertStore::for_layout(CertLayout::Host)?.is_none());
        let store = CertStore::for_layout(CertLayout::Al2023)?.context("a store")?;
        let [(file_var, file), (dir_var, dir)] = store.env();
        assert_eq!((file_var, dir_var), ("SSL_CERT_FILE", "SSL_CERT_DIR"));
        let entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path(), file);
        assert!(std::fs::read_to_string(file)?.contains("BEGIN CERTIFICATE"));
        Ok(())
    }
}
