//! Server render time of the staff app's pages, in process over the real service on
//! SQLite (handler included: the session lookup, the settings read, and for the answer
//! page form parsing, the engine's decision and the template), and the JavaScript
//! shipped, compressed.
//!
//! Run: `cargo bench -p citygate-bench --bench render`

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

const BOUNDARY: &str = "b";

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = citygate_server::Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().join("data"),
        ..citygate_server::Config::new()
    };
    let server = citygate_server::Server::bind(&config)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .with_pages(citygate_web::pages);
    let token = server.setup_token.clone().unwrap_or_default();
    let app = server
        .app()
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
    // The administrator, a desk account and its session, through the API.
    let password = "correct horse battery staple";
    let call = |req: Request<Body>| {
        let app = app.clone();
        async move {
            let resp = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            let cookies: Vec<String> = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(|v| v.split(';').next().map(str::to_owned))
                .collect();
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (cookies, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let json = |path: &str, body: serde_json::Value, cookie: &str, csrf: &str| {
        Request::post(path)
            .header("content-type", "application/json")
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .body(Body::from(body.to_string()))
            .unwrap_or_default()
    };
    call(json(
        "/api/v1/setup",
        serde_json::json!({"token": token, "username": "admin", "password": password}),
        "",
        "",
    ))
    .await;
    let (cookies, body) = call(json(
        "/api/v1/session",
        serde_json::json!({"username": "admin", "password": password}),
        "",
        "",
    ))
    .await;
    let csrf = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["csrf_token"].as_str().map(str::to_owned))
        .unwrap_or_default();
    call(json("/api/v1/accounts", serde_json::json!({"username": "desk", "password": password, "role": "desk", "department": "police"}), &cookies.join("; "), &csrf)).await;
    let (cookies, body) = call(json(
        "/api/v1/session",
        serde_json::json!({"username": "desk", "password": password}),
        "",
        "",
    ))
    .await;
    let csrf = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["csrf_token"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let cookie = cookies.join("; ");
    let answer_form = form(&[
        ("csrf", &csrf),
        ("where", "jail"),
        ("who", "ice"),
        ("what", "hold"),
        ("paper", "ice-detainer"),
    ]);
    let question_form = form(&[
        ("csrf", &csrf),
        ("where", "jail"),
        ("who", "federal"),
        ("what", "hold"),
        ("paper", "judge-warrant"),
    ]);
    // Each page must be the real one (a fast error page would flatter the figure).
    // One recorded case, for the case list and the case page.
    let (_, body) = call(json(
        "/api/v1/cases",
        serde_json::json!({"channel": "in_person", "requester": {"name": "Agent"},
            "request": {"jurisdiction": "chicago", "act": "detain",
                "requester": {"kind": "immigration_agency"},
                "documents": [{"kind": "immigration_detainer"}],
                "subject": {"in_custody": true}}}),
        &cookie,
        &csrf,
    ))
    .await;
    let case_id = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no case: {body}"));
    let case_path = format!("/cases/{case_id}");
    for (name, path, make, want) in [
        ("GET /ask (first screen, full page)", "/ask", None, "<form"),
        (
            "POST /ask -> answer (detainer), full page",
            "/ask",
            Some(answer_form.clone()),
            "data-outcome=\"decline\"",
        ),
        (
            "POST /ask -> question (judge's warrant)",
            "/ask",
            Some(question_form.clone()),
            "name=\"fact\"",
        ),
        ("GET /cases (my cases)", "/cases", None, "<table"),
        (
            "GET /cases/{id} (case page, access recorded)",
            case_path.as_str(),
            None,
            "data-status=",
        ),
    ] {
        let mut blocks = Vec::new();
        let mut bytes = 0;
        for _ in 0..15 {
            let mut times = Vec::with_capacity(200);
            for _ in 0..200 {
                let req = match &make {
                    None => Request::get(path)
                        .header("cookie", &cookie)
                        .body(Body::empty()),
                    Some(body) => Request::post(path)
                        .header("cookie", &cookie)
                        .header(
                            "content-type",
                            format!("multipart/form-data; boundary={BOUNDARY}"),
                        )
                        .body(Body::from(body.clone())),
                }
                .unwrap_or_default();
                let t = Instant::now();
                let resp = app
                    .clone()
                    .oneshot(req)
                    .await
                    .unwrap_or_else(|e| match e {});
                let status = resp.status();
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                times.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(
                    status.is_success(),
                    "{name}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
                assert!(String::from_utf8_lossy(&body).contains(want), "{name}");
                bytes = body.len();
            }
            times.sort_by(|a, b| a.total_cmp(b));
            blocks.push((times[times.len() / 2], times[times.len() * 99 / 100]));
        }
        let p50 = median(blocks.iter().map(|b| b.0).collect());
        let p99 = median(blocks.iter().map(|b| b.1).collect());
        println!("{name:<44} p50 {p50:.3} ms  p99 {p99:.3} ms  ({bytes} bytes of HTML)");
    }
    let js = include_bytes!("../../web/static/htmx.min.js");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(js);
    let compressed = gz.finish().map(|v| v.len()).unwrap_or(0);
    println!(
        "JavaScript shipped: htmx.min.js {} bytes, {} bytes gzip -9 (target <= 50 KB compressed)",
        js.len(),
        compressed
    );
}
