//! A test kit: starts a real server on a free loopback port, on SQLite in a temporary
//! directory or on PostgreSQL in a fresh schema.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Config, Pages, ServeError, Server};

/// Where tests find PostgreSQL.
pub const TEST_POSTGRES: &str = "postgres://root@127.0.0.1:5432/test";

/// A running test server; stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The one-time set-up token (first start only).
    pub setup_token: Option<String>,
    /// The data directory (databases and key file).
    pub data_dir: PathBuf,
    /// The configuration it runs with (start another instance on the same store with it).
    pub config: Config,
    /// The running service's state (to drive its jobs, such as retention, from a test).
    pub state: crate::state::AppState,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    /// Starts on SQLite in a fresh temporary directory.
    pub async fn sqlite() -> Result<TestServer, ServeError> {
        let dir = tempfile::tempdir().map_err(|source| ServeError::Io {
            what: "tempdir".into(),
            source,
        })?;
        let data_dir = dir.path().join("data");
        let mut s = Self::start(Self::config(&data_dir, None)).await?;
        s._dir = Some(dir);
        Ok(s)
    }

    /// Starts on SQLite in a fresh temporary directory with the defaults changed by `adjust`.
    pub async fn sqlite_configured(
        adjust: impl FnOnce(&mut Config),
    ) -> Result<TestServer, ServeError> {
        let dir = tempfile::tempdir().map_err(|source| ServeError::Io {
            what: "tempdir".into(),
            source,
        })?;
        let mut config = Self::config(&dir.path().join("data"), None);
        adjust(&mut config);
        let mut s = Self::start(config).await?;
        s._dir = Some(dir);
        Ok(s)
    }

    /// Starts on PostgreSQL at [`TEST_POSTGRES`] in a fresh schema; `None` if unreachable.
    pub async fn postgres() -> Option<Result<TestServer, ServeError>> {
        let schema = fresh_schema().await?;
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(source) => {
                return Some(Err(ServeError::Io {
                    what: "tempdir".into(),
                    source,
                }))
            }
        };
        let data_dir = dir.path().join("data");
        let mut config = Self::config(&data_dir, Some(TEST_POSTGRES.to_owned()));
        config.database_schema = Some(schema.clone());
        Some(Self::start(config).await.map(|mut s| {
            s._dir = Some(dir);
            s.schema = Some(schema);
            s
        }))
    }

    fn config(data_dir: &std::path::Path, database_url: Option<String>) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            database_url,
            ..Config::new()
        }
    }

    /// Starts with an explicit configuration.
    pub async fn start(config: Config) -> Result<TestServer, ServeError> {
        Self::start_with(config, None).await
    }

    /// Starts on SQLite in a fresh temporary directory, serving `pages` beside the API.
    pub async fn sqlite_with(pages: Pages) -> Result<TestServer, ServeError> {
        let dir = tempfile::tempdir().map_err(|source| ServeError::Io {
            what: "tempdir".into(),
            source,
        })?;
        let data_dir = dir.path().join("data");
        let mut s = Self::start_with(Self::config(&data_dir, None), Some(pages)).await?;
        s._dir = Some(dir);
        Ok(s)
    }

    /// Starts on SQLite in a fresh temporary directory, answering with `rules`.
    pub async fn sqlite_with_rules(
        rules: citygate_engine::RuleSet,
    ) -> Result<TestServer, ServeError> {
        let dir = tempfile::tempdir().map_err(|source| ServeError::Io {
            what: "tempdir".into(),
            source,
        })?;
        let config = Self::config(&dir.path().join("data"), None);
        let server = Server::bind(&config).await?.with_rules(rules);
        let mut s = Self::run(server, config)?;
        s._dir = Some(dir);
        Ok(s)
    }

    /// Starts with an explicit configuration, serving `pages` (if any) beside the API.
    pub async fn start_with(
        config: Config,
        pages: Option<Pages>,
    ) -> Result<TestServer, ServeError> {
        let mut server = Server::bind(&config).await?;
        if let Some(pages) = pages {
            server = server.with_pages(pages);
        }
        Self::run(server, config)
    }

    fn run(server: Server, config: Config) -> Result<TestServer, ServeError> {
        let (stop, stopped) = oneshot::channel::<()>();
        let addr = server.local_addr;
        let setup_token = server.setup_token.clone();
        let state = server.state().clone();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            base_url: format!("http://{addr}"),
            addr,
            setup_token,
            data_dir: config.data_dir.clone(),
            config,
            state,
            _dir: None,
            schema: None,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The configuration of a second instance on the same store (another port and data
    /// directory, the same database and key file).
    pub fn config_for_another_instance(server: &TestServer) -> Config {
        let mut config = server.config.clone();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.key_file = Some(server.config.key_file());
        config.data_dir = server.data_dir.join("second");
        config
    }

    /// Stops gracefully and waits for the requests in flight; the data directory stays
    /// until the value is dropped.
    pub async fn stop(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = match self.task.take() {
            // A panic while serving or shutting down is a failure of the test.
            Some(task) => task
                .await
                .unwrap_or_else(|e| Err(ServeError::Stopped(e.to_string()))),
            None => Ok(()),
        };
        if let Some(schema) = self.schema.take() {
            drop_schema(&schema).await;
        }
        result
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Creates a uniquely named schema in the test database; `None` if PostgreSQL is unreachable.
async fn fresh_schema() -> Option<String> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(TEST_POSTGRES).await.ok()?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = format!("cg_test_{}_{n}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .ok()?;
    Some(schema)
}

/// Removes a test schema (best effort: a leftover schema only costs space).
async fn drop_schema(schema: &str) {
    use sqlx::Connection as _;
    if let Ok(mut conn) = sqlx::PgConnection::connect(TEST_POSTGRES).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&mut conn)
            .await;
    }
}
