//! The retention job: destroys what a case's retention limits say not to keep once their
//! period after the case's close has run, one limit at a time, each logged to the ledger
//! first (event `retention_purge` under the limit's rule id) and as a case event.
//!
//! Runs every [`crate::Config::retention_every`] seconds in each `serve` process. Several
//! instances on one database may run it together: each purge names the case version it
//! read, so a case is purged once (the other instance's attempt is refused as stale, after
//! having logged its intent, as any refused step does).

use citygate_engine::{Kept, Retention};
use citygate_ledger::{Event, EventKind};
use citygate_store::{CaseEvent, CaseRecord, Purge, StoreError};

use crate::error::ApiError;
use crate::routes::cases::log_first;
use crate::state::AppState;

const DAY: i64 = 86_400;

/// Cases taken per store query.
const BATCH: i64 = 100;

/// The account id recorded as the actor of purges: the service itself, not a person.
pub const SYSTEM_ACTOR: i64 = 0;

/// One purge done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// The case.
    pub case_id: String,
    /// The rule that required it.
    pub rule: String,
    /// What was destroyed.
    pub what: Kept,
    /// The ledger index of its `retention_purge` event.
    pub ledger_index: i64,
}

fn limits(schedule: &str) -> Result<Vec<Retention>, ApiError> {
    serde_json::from_str(schedule).map_err(|_| {
        tracing::error!("a case's stored retention schedule is not valid JSON");
        ApiError::Internal
    })
}

fn due_at(limit: &Retention, closed_at: i64) -> i64 {
    closed_at.saturating_add(i64::from(limit.keep_days_after_close).saturating_mul(DAY))
}

/// When the first purge of a case closing at `closed_at` falls due, if it has limits.
pub fn first_due(schedule: &str, closed_at: i64) -> Result<Option<i64>, ApiError> {
    Ok(limits(schedule)?.iter().map(|l| due_at(l, closed_at)).min())
}

fn done(limit: &Retention, case: &CaseRecord) -> bool {
    let r = &case.retention;
    // Destroying the details destroys the documents too.
    r.details_purged_at.is_some()
        || (limit.what == Kept::Documents && r.documents_purged_at.is_some())
}

/// Applies every limit due at `now`; returns the purges done. A case that changed meanwhile
/// is left for the next run.
pub async fn run_once(state: &AppState, now: i64) -> Result<Vec<Purged>, ApiError> {
    let mut purged = Vec::new();
    loop {
        let due = state.store.retention_due(now, BATCH).await?;
        let mut progressed = false;
        for case in &due {
            let before = purged.len();
            purge_case(state, case.clone(), now, &mut purged).await?;
            progressed |= purged.len() > before;
        }
        // A short batch was the last; a batch without progress would come back unchanged.
        if (due.len() as i64) < BATCH || !progressed {
            return Ok(purged);
        }
    }
}

async fn purge_case(
    state: &AppState,
    mut case: CaseRecord,
    now: i64,
    purged: &mut Vec<Purged>,
) -> Result<(), ApiError> {
    let Some(closed_at) = case.retention.closed_at else {
        return Ok(());
    };
    let mut limits = limits(&case.retention.schedule)?;
    // Documents before details: each limit is its own logged purge, citing its own rule.
    limits.sort_by_key(|l| (due_at(l, closed_at), l.what));
    for limit in &limits {
        if done(limit, &case) || due_at(limit, closed_at) > now {
            continue;
        }
        // After the details nothing is left; after the documents, only a details limit.
        let next_due = match limit.what {
            Kept::Details => None,
            Kept::Documents => limits
                .iter()
                .filter(|l| l.what == Kept::Details && !done(l, &case))
                .map(|l| due_at(l, closed_at))
                .min(),
        };
        let step = match limit.what {
            Kept::Documents => "documents_purged",
            Kept::Details => "details_purged",
        };
        let event = Event {
            kind: EventKind::RetentionPurge,
            time: now.max(0) as u64,
            provision: limit.rule.clone(),
            refers_to: None,
            details: Some(serde_json::json!({
                "case": case.id, "step": step, "what": limit.what.as_str(), "actor": SYSTEM_ACTOR,
            })),
        };
        let ledger_index = log_first(state, event).await?;
        let purge = Purge {
            expected_version: case.version,
            documents: limit.what == Kept::Documents,
            details: limit.what == Kept::Details,
            next_due,
            event: CaseEvent {
                case_id: case.id.clone(),
                seq: 0,
                kind: step.into(),
                ledger_index,
                actor: SYSTEM_ACTOR,
                at: now,
                personal: None,
            },
        };
        case = match state.store.purge_case(&case.id, &purge).await {
            Ok(case) => case,
            Err(StoreError::Stale) => {
                tracing::info!(event = "retention_purge_deferred", case = %case.id, rule = %limit.rule, ledger_index, "case changed meanwhile; the next run purges it");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        state
            .metrics
            .retention_purges
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(event = "retention_purge", case = %case.id, rule = %limit.rule, what = limit.what.as_str(), ledger_index, "records destroyed under a retention rule");
        purged.push(Purged {
            case_id: case.id.clone(),
            rule: limit.rule.clone(),
            what: limit.what,
            ledger_index,
        });
    }
    Ok(())
}

/// Runs [`run_once`] now and then every `every` seconds, until the task is dropped.
pub async fn run_every(state: AppState, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match run_once(&state, crate::now()).await {
            Ok(done) if done.is_empty() => {}
            Ok(done) => tracing::info!(
                event = "retention_run",
                purges = done.len(),
                "retention run done"
            ),
            Err(e) => tracing::error!(error = %e, "retention run failed; retried at the next run"),
        }
    }
}
