//! Prometheus metrics at `/metrics`: requests by route template and status, and the
//! case steps logged. Labels are route templates (`/api/v1/cases/{id}`), never raw paths,
//! so no identifier or personal data reaches the metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Requests to one route template with one method and status: (method, status, count).
type RouteCount = (Method, u16, u64);

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    /// Route template → its counts; allocates only for a new combination.
    requests: Mutex<BTreeMap<String, Vec<RouteCount>>>,
    /// Cases opened by this instance.
    pub cases_opened: AtomicU64,
    /// Case steps (sign-off, resolution, action, disclosure) recorded by this instance.
    pub case_steps: AtomicU64,
    /// Retention purges done by this instance.
    pub retention_purges: AtomicU64,
}

impl Metrics {
    fn count(&self, method: &Method, route: &str, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let counts = match map.get_mut(route) {
            Some(counts) => counts,
            None => map.entry(route.to_owned()).or_default(),
        };
        match counts
            .iter_mut()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some((_, _, n)) => *n += 1,
            None => counts.push((method.clone(), status, 1)),
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP citygate_http_requests_total HTTP requests by method, route template and status.\n\
             # TYPE citygate_http_requests_total counter\n",
        );
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for (route, counts) in map.iter() {
            let mut counts = counts.clone();
            counts.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
            for (method, status, n) in counts {
                let _ = writeln!(out, "citygate_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        let _ = write!(
            out,
            "# HELP citygate_cases_opened_total Cases opened (each logged to the ledger first).\n\
             # TYPE citygate_cases_opened_total counter\ncitygate_cases_opened_total {}\n\
             # HELP citygate_case_steps_total Case steps recorded (each logged to the ledger first).\n\
             # TYPE citygate_case_steps_total counter\ncitygate_case_steps_total {}\n\
             # HELP citygate_retention_purges_total Purges under retention rules (each logged to the ledger first).\n\
             # TYPE citygate_retention_purges_total counter\ncitygate_retention_purges_total {}\n",
            self.cases_opened.load(Ordering::Relaxed),
            self.case_steps.load(Ordering::Relaxed),
            self.retention_purges.load(Ordering::Relaxed)
        );
        out
    }
}

/// Middleware counting every request under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    state.metrics.count(
        &method,
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
    );
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
