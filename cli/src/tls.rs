//! TLS for `https://` and `wss://` (AWS): rustls with the aws-lc-rs provider, the one the AWS
//! SDK's rustls already uses in this workspace, so the CLI compiles no second crypto library.
//! The HTTP side (`http_client.rs`) hands the provider to hyper-rustls itself; tungstenite
//! builds its TLS config from the process default, which every client constructor
//! (`Api::new`, `Socket::connect`) installs first (only the first call does anything).

/// Installs aws-lc-rs as the process's rustls provider (a second call changes nothing).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
