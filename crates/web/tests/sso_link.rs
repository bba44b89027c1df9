//! The login page offers single sign-on only when it is configured.

use citygate_server::config::OidcSettings;
use citygate_server::testkit::TestServer;

async fn login_page(server: &TestServer) -> String {
    let resp = reqwest::get(format!("{}/login", server.base_url))
        .await
        .unwrap();
    assert!(resp.status().is_success());
    resp.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_page_links_to_single_sign_on_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = citygate_server::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().join("data"),
        ..citygate_server::Config::new()
    };
    let mut plain = TestServer::start_with(config.clone(), Some(citygate_web::pages))
        .await
        .unwrap();
    assert!(!login_page(&plain).await.contains("/auth/oidc/login"));
    plain.stop().await.unwrap();

    // The provider is only asked at the first sign-in, so none needs to answer here.
    config.data_dir = dir.path().join("sso");
    config.oidc = OidcSettings {
        issuer: Some("https://idp.example.org/tenant".into()),
        client_id: Some("citygate".into()),
        role_map: Some("CityGate.Desk=desk".into()),
        ..OidcSettings::default()
    };
    let mut sso = TestServer::start_with(config, Some(citygate_web::pages))
        .await
        .unwrap();
    let page = login_page(&sso).await;
    assert!(page.contains("href=\"/auth/oidc/login\""), "{page}");
    // Passwords stay available beside it.
    assert!(page.contains("name=\"password\""));
    sso.stop().await.unwrap();
}
