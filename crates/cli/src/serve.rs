//! `citygate serve`: the HTTP service. Flags win over environment, environment over the
//! configuration file, the file over the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use citygate_server::{Config, FileConfig};

use crate::EXIT_BAD_INPUT;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CITYGATE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite databases and the key file [default: ./citygate-data].
    #[arg(long, env = "CITYGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://user@host:port/db` to use PostgreSQL instead of SQLite.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL schema for the tables [default: public].
    #[arg(long, env = "CITYGATE_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// Key file sealing personal data at rest [default: DATA_DIR/citygate.key].
    #[arg(long, env = "CITYGATE_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Mark cookies Secure (set when users reach the service over TLS).
    #[arg(long, env = "CITYGATE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Base URL users reach the service at, for the printed set-up link.
    #[arg(long, env = "CITYGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Name of the ledger in its checkpoints (used when its signing key is created).
    #[arg(long, env = "CITYGATE_LEDGER_ORIGIN")]
    pub ledger_origin: Option<String>,
    /// Requests per second per client address, 0 for no limit [default: 200].
    #[arg(long, env = "CITYGATE_RATE_PER_ADDRESS")]
    pub rate_per_address: Option<u32>,
    /// Requests a client address may send at once [default: 2000].
    #[arg(long, env = "CITYGATE_BURST_PER_ADDRESS")]
    pub burst_per_address: Option<u32>,
    /// Requests per second per account, 0 for no limit [default: 100].
    #[arg(long, env = "CITYGATE_RATE_PER_ACCOUNT")]
    pub rate_per_account: Option<u32>,
    /// Requests an account may send at once [default: 1000].
    #[arg(long, env = "CITYGATE_BURST_PER_ACCOUNT")]
    pub burst_per_account: Option<u32>,
    /// Seconds between retention runs, which destroy what the rule packs' retention rules
    /// say not to keep; 0 turns them off in this instance [default: 3600].
    #[arg(long, env = "CITYGATE_RETENTION_EVERY")]
    pub retention_every: Option<u64>,
    /// Single sign-on: the OpenID Connect issuer URL (unset: single sign-on off).
    #[arg(long, env = "CITYGATE_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Single sign-on: the client id registered at the provider.
    #[arg(long, env = "CITYGATE_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Single sign-on: the client secret (prefer --oidc-client-secret-file).
    #[arg(long, env = "CITYGATE_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// Single sign-on: a file holding the client secret.
    #[arg(long, env = "CITYGATE_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Single sign-on: the redirect URL [default: PUBLIC_URL/auth/oidc/callback].
    #[arg(long, env = "CITYGATE_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,
    /// Single sign-on: the claim holding roles, a dotted path for nested claims [default: roles].
    #[arg(long, env = "CITYGATE_OIDC_ROLE_CLAIM")]
    pub oidc_role_claim: Option<String>,
    /// Single sign-on: claim values to roles, e.g. `CityGate.Desk=desk,CityGate.Admin=admin`.
    #[arg(long, env = "CITYGATE_OIDC_ROLE_MAP")]
    pub oidc_role_map: Option<String>,
    /// Single sign-on: the claim holding the department (dotted path).
    #[arg(long, env = "CITYGATE_OIDC_DEPARTMENT_CLAIM")]
    pub oidc_department_claim: Option<String>,
    /// Configuration file (TOML with the same keys as the flags, in snake_case).
    #[arg(long, env = "CITYGATE_CONFIG")]
    pub config: Option<PathBuf>,
}

fn config(args: Args) -> anyhow::Result<Config> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<FileConfig>(&text).with_context(|| format!("{}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let defaults = Config::new();
    Ok(Config {
        listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
        data_dir: args.data_dir.or(file.data_dir).unwrap_or(defaults.data_dir),
        database_url: args
            .database_url
            .or(file.database_url)
            .filter(|u| !u.is_empty()),
        database_schema: args.database_schema.or(file.database_schema),
        key_file: args.key_file.or(file.key_file),
        secure_cookies: args.secure_cookies || file.secure_cookies.unwrap_or(false),
        public_url: args.public_url.or(file.public_url),
        ledger_origin: args.ledger_origin.or(file.ledger_origin),
        rate_per_address: args
            .rate_per_address
            .or(file.rate_per_address)
            .unwrap_or(defaults.rate_per_address),
        burst_per_address: args
            .burst_per_address
            .or(file.burst_per_address)
            .unwrap_or(defaults.burst_per_address),
        rate_per_account: args
            .rate_per_account
            .or(file.rate_per_account)
            .unwrap_or(defaults.rate_per_account),
        burst_per_account: args
            .burst_per_account
            .or(file.burst_per_account)
            .unwrap_or(defaults.burst_per_account),
        retention_every: args
            .retention_every
            .or(file.retention_every)
            .unwrap_or(defaults.retention_every),
        oidc: citygate_server::config::OidcSettings {
            issuer: args.oidc_issuer.or(file.oidc_issuer),
            client_id: args.oidc_client_id.or(file.oidc_client_id),
            client_secret: args.oidc_client_secret.or(file.oidc_client_secret),
            client_secret_file: args
                .oidc_client_secret_file
                .or(file.oidc_client_secret_file),
            redirect_url: args.oidc_redirect_url.or(file.oidc_redirect_url),
            role_claim: args.oidc_role_claim.or(file.oidc_role_claim),
            role_map: args.oidc_role_map.or(file.oidc_role_map),
            department_claim: args.oidc_department_claim.or(file.oidc_department_claim),
        },
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let data_dir = config.data_dir.clone();
    runtime.block_on(citygate_server::serve(config, citygate_web::pages, |server| {
        let place = match server.backend {
            "sqlite" => format!("SQLite in {}", data_dir.display()),
            other => other.to_owned(),
        };
        eprintln!("citygate: listening on http://{} ({place})", server.local_addr);
        if let Some(link) = &server.setup_link {
            eprintln!("citygate: no account yet. Create the first administrator (one-time link):\n\n    {link}\n");
        }
    }))?;
    eprintln!("citygate: stopped");
    Ok(ExitCode::SUCCESS)
}
