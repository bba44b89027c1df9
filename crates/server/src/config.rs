//! Service configuration: built by the CLI from flags, environment and an optional file.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite databases and the key file.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL instead of SQLite.
    pub database_url: Option<String>,
    /// PostgreSQL schema holding the tables (`public` by default).
    pub database_schema: Option<String>,
    /// Key file for personal data at rest; `<data_dir>/citygate.key` by default.
    pub key_file: Option<PathBuf>,
    /// Mark cookies `Secure`: set when clients reach the service over TLS.
    pub secure_cookies: bool,
    /// Base URL users reach the service at, for the printed set-up link.
    pub public_url: Option<String>,
    /// The ledger's origin (the name in its checkpoints), used when its signing key is
    /// first generated (`ledger-signing.key`, beside the key file).
    pub ledger_origin: Option<String>,
    /// Requests per second per client address (token bucket; 0 turns the limit off).
    pub rate_per_address: u32,
    /// Requests a client address may send at once after a quiet spell.
    pub burst_per_address: u32,
    /// Requests per second per account on authenticated routes (0 turns the limit off).
    pub rate_per_account: u32,
    /// Requests an account may send at once after a quiet spell.
    pub burst_per_account: u32,
    /// Single sign-on through OpenID Connect; off unless its issuer is set.
    pub oidc: OidcSettings,
    /// Seconds between retention runs (purges under the rule packs' retention rules); 0
    /// turns the job off in this instance.
    pub retention_every: u64,
}

/// Single sign-on settings as given (flags, environment, file); checked when the service
/// starts ([`crate::oidc::OidcConfig::from_settings`]).
#[derive(Debug, Clone, Default)]
pub struct OidcSettings {
    /// The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: Option<String>,
    /// The client (application) id registered at the provider.
    pub client_id: Option<String>,
    /// The client secret.
    pub client_secret: Option<String>,
    /// A file holding the client secret (instead of `client_secret`).
    pub client_secret_file: Option<PathBuf>,
    /// Where the provider sends the browser back; `<public_url>/auth/oidc/callback` by default.
    pub redirect_url: Option<String>,
    /// The claim holding the roles (`roles` by default; a dotted path reaches nested claims).
    pub role_claim: Option<String>,
    /// Claim value to citygate role, comma-separated: `CityGate.Desk=desk,CityGate.Admin=admin`.
    pub role_map: Option<String>,
    /// The claim holding the department (dotted path); unset leaves departments as they are.
    pub department_claim: Option<String>,
}

impl Config {
    /// The defaults: SQLite in `./citygate-data`, listening on 127.0.0.1:8080.
    pub fn new() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("citygate-data"),
            database_url: None,
            database_schema: None,
            key_file: None,
            secure_cookies: false,
            public_url: None,
            ledger_origin: None,
            // Generous: a whole department may reach the service through one address, and
            // integrations batch; the limits stop floods, not work.
            rate_per_address: 200,
            burst_per_address: 2000,
            rate_per_account: 100,
            burst_per_account: 1000,
            oidc: OidcSettings::default(),
            retention_every: 3600,
        }
    }

    /// The ledger's checkpoint signing key: beside the key file, so instances that share
    /// the key file share the log's identity too.
    pub fn ledger_key_file(&self) -> PathBuf {
        self.key_file().with_file_name("ledger-signing.key")
    }

    /// The PostgreSQL ledger's per-entry key file (crypto-shredding, see
    /// `citygate_ledger::KeyStore`): beside the key file, so every instance sharing the
    /// database and the key file shares it too. Unused with SQLite.
    pub fn ledger_entry_keys_file(&self) -> PathBuf {
        self.key_file()
            .with_file_name(citygate_ledger::publish::ENTRY_KEYS_FILE)
    }

    /// The PostgreSQL schema in use.
    pub fn schema(&self) -> String {
        self.database_schema
            .clone()
            .unwrap_or_else(|| "public".into())
    }

    /// The key file in use.
    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("citygate.key"))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// The configuration file (TOML); every key is optional and flags and environment win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`Config::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Config::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Config::database_url`].
    pub database_url: Option<String>,
    /// See [`Config::database_schema`].
    pub database_schema: Option<String>,
    /// See [`Config::key_file`].
    pub key_file: Option<PathBuf>,
    /// See [`Config::secure_cookies`].
    pub secure_cookies: Option<bool>,
    /// See [`Config::public_url`].
    pub public_url: Option<String>,
    /// See [`Config::ledger_origin`].
    pub ledger_origin: Option<String>,
    /// See [`Config::rate_per_address`].
    pub rate_per_address: Option<u32>,
    /// See [`Config::burst_per_address`].
    pub burst_per_address: Option<u32>,
    /// See [`Config::rate_per_account`].
    pub rate_per_account: Option<u32>,
    /// See [`Config::burst_per_account`].
    pub burst_per_account: Option<u32>,
    /// See [`OidcSettings::issuer`].
    pub oidc_issuer: Option<String>,
    /// See [`OidcSettings::client_id`].
    pub oidc_client_id: Option<String>,
    /// See [`OidcSettings::client_secret`].
    pub oidc_client_secret: Option<String>,
    /// See [`OidcSettings::client_secret_file`].
    pub oidc_client_secret_file: Option<PathBuf>,
    /// See [`OidcSettings::redirect_url`].
    pub oidc_redirect_url: Option<String>,
    /// See [`OidcSettings::role_claim`].
    pub oidc_role_claim: Option<String>,
    /// See [`OidcSettings::role_map`].
    pub oidc_role_map: Option<String>,
    /// See [`OidcSettings::department_claim`].
    pub oidc_department_claim: Option<String>,
    /// Seconds between retention runs; 0 turns the job off.
    pub retention_every: Option<u64>,
}
