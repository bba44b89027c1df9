//! citygate-server: the HTTP service behind `citygate serve`.
//!
//! JSON API under `/api/v1` (decide, cases and their events, accounts, sessions), the
//! OpenAPI document at `/api/openapi.json` (generated from the handlers), `/healthz`, Prometheus `/metrics`, and a
//! one-time set-up page for the first administrator. Cases live in a [`citygate_store`]
//! store (SQLite in the data directory, or PostgreSQL); every state change is appended to
//! the [`citygate_ledger`] ledger first and its durable index recorded with the change.
//!
//! Invariants: only this crate knows HTTP; no personal data in logs, error messages or
//! the ledger (personal case fields are sealed with [`vault::Vault`] before the store sees
//! them); every read of personal data is recorded in the access log before it is sent.

pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod metrics;
pub mod oidc;
pub mod policy;
pub mod ratelimit;
pub mod retention;
pub mod rotate;
pub mod routes;
pub mod state;
pub mod testkit;
pub mod vault;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use citygate_engine::RuleSet;
use citygate_ledger::Ledger;
use citygate_store::{PostgresStore, SqliteStore, Store};

pub use config::{Config, FileConfig};

use crate::auth::Throttle;
use crate::state::AppState;
use crate::vault::Vault;

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database URL is neither empty nor PostgreSQL.
    #[error("DATABASE_URL: only postgres:// or postgresql:// URLs are supported (leave it unset for SQLite)")]
    DatabaseUrl,
    /// The store failed to open or migrate.
    #[error("store: {0}")]
    Store(#[from] citygate_store::StoreError),
    /// The ledger failed to open.
    #[error("ledger: {0}")]
    Ledger(String),
    /// The key file is unusable.
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    /// The store has data but a key file is missing.
    #[error("key file {} is missing, but this database already has accounts and sealed data: put the key file back (from your key backup) or point --key-file at it; a new key could not read the existing data", .0.display())]
    KeyMissing(std::path::PathBuf),
    /// The server task ended abnormally (a panic).
    #[error("the server stopped abnormally: {0}")]
    Stopped(String),
    /// The embedded rule packs failed to load.
    #[error("rule packs: {0}")]
    Rules(String),
    /// The single sign-on settings are wrong.
    #[error("single sign-on: {0}")]
    Oidc(#[from] oidc::OidcConfigError),
}

/// Current time, UNIX seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Current time, UNIX milliseconds.
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bound, ready service: migrations ran, the port is open.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
    /// The address actually bound (useful with port 0).
    pub local_addr: SocketAddr,
    /// On first start (no account yet): the one-time link to create the administrator.
    pub setup_link: Option<String>,
    /// The one-time set-up token inside `setup_link`.
    pub setup_token: Option<String>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pages: Option<axum::Router>,
    retention_every: u64,
}

/// Builds routes served beside the API over the same state: the staff pages
/// (`citygate-web`), which sit on top of this crate.
pub type Pages = fn(AppState) -> axum::Router;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

fn create_private_dir(dir: &Path) -> Result<(), ServeError> {
    let what = format!("cannot create data directory {}", dir.display());
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io(what))
}

async fn open_ledger(config: &Config) -> Result<Ledger, ServeError> {
    let url = config.database_url.clone();
    let schema = config.schema();
    let path = config.data_dir.join("ledger.sqlite");
    let keys = config.ledger_entry_keys_file();
    // The ledger's clients are synchronous (the PostgreSQL one runs its own runtime), so
    // open it on a blocking thread.
    let opened = tokio::task::spawn_blocking(move || {
        let store: Box<dyn citygate_ledger::LedgerStore> = match url {
            // Per-entry keys outside PostgreSQL, so erasure destroys the only readable copy.
            Some(url) => Box::new(citygate_ledger::PostgresStore::connect_with_keys(
                &url, &schema, &keys,
            )?),
            None => Box::new(citygate_ledger::SqliteStore::open(&path)?),
        };
        Ledger::open(store)
    })
    .await
    .map_err(|e| ServeError::Ledger(e.to_string()))?;
    opened.map_err(|e| ServeError::Ledger(e.to_string()))
}

/// Opens the configured store (running migrations); with its backend name, `sqlite` or
/// `postgres`. The data directory must exist.
pub async fn open_store(config: &Config) -> Result<(Arc<dyn Store>, &'static str), ServeError> {
    Ok(match &config.database_url {
        None => {
            let path = config.data_dir.join("citygate.sqlite");
            (Arc::new(SqliteStore::open(&path).await?), "sqlite")
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => (
            Arc::new(PostgresStore::connect_in_schema(url, &config.schema()).await?),
            "postgres",
        ),
        Some(_) => return Err(ServeError::DatabaseUrl),
    })
}

impl Server {
    /// Opens the data directory, key, store (running migrations), ledger and rule packs, and
    /// binds the listening socket.
    pub async fn bind(config: &Config) -> Result<Server, ServeError> {
        create_private_dir(&config.data_dir)?;
        let (store, backend) = open_store(config).await?;
        // Accounts exist, so the keys did too: new ones would leave every sealed field
        // unreadable and sign the ledger under another identity (a restore without its
        // keys, a second instance pointed at the wrong file). Refuse instead.
        if store.count_accounts().await? > 0 {
            let mut keys = vec![config.key_file(), config.ledger_key_file()];
            if backend == "postgres" {
                // A new entry-key file would be refused by the ledger (bound to the old one)
                // and, worse, could not open any existing private record.
                keys.push(config.ledger_entry_keys_file());
            }
            for key in keys {
                if !key.exists() {
                    return Err(ServeError::KeyMissing(key));
                }
            }
        }
        let vault = Vault::open_or_create(&config.key_file())?;
        let origin = config
            .ledger_origin
            .clone()
            .unwrap_or_else(|| "citygate-ledger".into());
        let log_key =
            citygate_ledger::checkpoint::LogKey::load_or_create(&config.ledger_key_file(), &origin)
                .map_err(|e| ServeError::Ledger(e.to_string()))?;
        let packs = citygate_engine::packs::embedded_packs();
        let rules = RuleSet::load(&packs).map_err(|e| ServeError::Rules(e.to_string()))?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(io(format!("cannot listen on {}", config.listen)))?;
        let local_addr = listener
            .local_addr()
            .map_err(io("cannot read the bound address"))?;
        // The redirect URL defaults to the public URL, else the bound address (as the
        // set-up link does).
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let oidc = oidc::OidcConfig::from_settings(&config.oidc, &base)?
            .map(|c| Arc::new(oidc::Oidc::new(c)));
        let (setup_token, setup_link) = if store.count_accounts().await? == 0 {
            let token = auth::random_secret();
            store
                .put_setup_token(&auth::secret_hash(&token), now())
                .await?;
            let base = config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{local_addr}"));
            let link = format!("{}/setup?token={token}", base.trim_end_matches('/'));
            (Some(token), Some(link))
        } else {
            (None, None)
        };
        // Opened last: nothing fallible follows, so it is always dropped through the guard.
        let ledger = Arc::new(open_ledger(config).await?);
        let state = AppState::new(state::Shared {
            store,
            ledger_guard: Arc::new(state::LedgerGuard::new(ledger.clone())),
            ledger,
            rules: Arc::new(rules),
            vault: Arc::new(vault),
            throttle: Arc::new(Throttle::new(Duration::from_secs(15 * 60), 5, 50)),
            metrics: Arc::default(),
            publisher: Arc::new(routes::ledger::Publisher::new(log_key)),
            secure_cookies: config.secure_cookies,
            oidc,
            rate_limits: Arc::new(ratelimit::RateLimits::new(
                ratelimit::Rate {
                    per_second: config.rate_per_address,
                    burst: config.burst_per_address,
                },
                ratelimit::Rate {
                    per_second: config.rate_per_account,
                    burst: config.burst_per_account,
                },
            )),
            tiles: Arc::new(routes::ledger::TileCache::new(
                config.data_dir.join("tiles"),
            )),
            documents: Arc::new(routes::documents::DocumentReader::new(
                config.data_dir.join("scratch"),
            )),
        });
        Ok(Server {
            listener,
            state,
            local_addr,
            setup_link,
            setup_token,
            backend,
            pages: None,
            retention_every: config.retention_every,
        })
    }

    /// The whole application (API and pages), e.g. to drive in-process in a benchmark.
    pub fn app(&self) -> axum::Router {
        let app = routes::router(self.state.clone());
        let app = match &self.pages {
            Some(pages) => app.merge(pages.clone()),
            None => app,
        };
        // Outermost, so the pages (their login form included) are limited like the API.
        app.layer(axum::middleware::from_fn_with_state(
            self.state.clone(),
            ratelimit::by_address,
        ))
    }

    /// Answers with `rules` instead of the embedded rule packs (a test's packs, or packs
    /// under review). Call before [`Server::with_pages`], whose pages share the state.
    pub fn with_rules(mut self, rules: RuleSet) -> Self {
        self.state.make_mut().rules = Arc::new(rules);
        self
    }

    /// Serves `pages` beside the API.
    pub fn with_pages(mut self, pages: Pages) -> Self {
        self.pages = Some(pages(self.state.clone()));
        self
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let app = self.app();
        // Dropped with this function: the job stops when the service does, between purges
        // or inside one (each is ledger-first and one transaction, so nothing is half done).
        let _retention = (self.retention_every > 0).then(|| {
            AbortOnDrop(tokio::spawn(retention::run_every(
                self.state.clone(),
                Duration::from_secs(self.retention_every),
            )))
        });
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(io("server failed"))
    }

    /// The shared state (tests and benchmarks drive jobs with it).
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Binds with `config`, hands the ready server's details to `ready` (the CLI prints them),
/// and serves the API and `pages` until Ctrl-C or SIGTERM.
pub async fn serve(
    config: Config,
    pages: Pages,
    ready: impl FnOnce(&Server),
) -> Result<(), ServeError> {
    let server = Server::bind(&config).await?.with_pages(pages);
    ready(&server);
    server.run(shutdown_signal()).await
}
