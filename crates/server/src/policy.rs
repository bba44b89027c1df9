//! Who may see which case: least privilege, in one place.

use citygate_store::{Account, CaseFilter, CaseRecord, Role};

/// Channel of public-records requests (the `records` role's cases).
pub const RECORDS_CHANNEL: &str = "records_portal";
/// Outcome of cases referred to counsel.
pub const REFER: &str = "refer";

/// How much of a case an account may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Everything, personal data included (each read is recorded).
    Full,
    /// The case without its personal data (auditors).
    WithoutPersonal,
    /// Nothing: the case is not theirs to see.
    Hidden,
}

/// What `account` may see of `case`.
pub fn visibility(account: &Account, case: &CaseRecord) -> Visibility {
    let full = match account.role {
        Role::Desk => case.created_by == account.id,
        Role::Supervisor => case.department == account.department,
        Role::Counsel => case.outcome == REFER,
        Role::Records => case.channel == RECORDS_CHANNEL,
        Role::Auditor => return Visibility::WithoutPersonal,
        Role::Admin => false,
    };
    if full {
        Visibility::Full
    } else {
        Visibility::Hidden
    }
}

/// The listing an account may see, or `None` if its role sees no cases.
pub fn case_filter(account: &Account, limit: i64) -> Option<CaseFilter> {
    let mut f = CaseFilter {
        limit,
        ..CaseFilter::default()
    };
    match account.role {
        Role::Desk => f.created_by = Some(account.id),
        Role::Supervisor => f.department = Some(account.department.clone()),
        Role::Counsel => f.outcome = Some(REFER.into()),
        Role::Records => f.channel = Some(RECORDS_CHANNEL.into()),
        Role::Auditor => {}
        Role::Admin => return None,
    }
    Some(f)
}

/// Whether `account` may record the action taken or a disclosure on `case`: the desk
/// officer who opened it, or records staff on public-records cases.
pub fn may_act(account: &Account, case: &CaseRecord) -> bool {
    match account.role {
        Role::Desk => case.created_by == account.id,
        Role::Records => case.channel == RECORDS_CHANNEL,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: i64, role: Role, dept: &str) -> Account {
        Account {
            id,
            username: format!("u{id}"),
            role,
            department: dept.into(),
            password_hash: None,
            disabled: false,
            created_at: 0,
        }
    }

    fn case(by: i64, dept: &str, channel: &str, outcome: &str) -> CaseRecord {
        CaseRecord {
            id: "c".into(),
            created_at: 0,
            created_by: by,
            department: dept.into(),
            channel: channel.into(),
            status: "x".into(),
            outcome: outcome.into(),
            rules_hash: String::new(),
            answer_json: String::new(),
            requires_signoff: false,
            personal: vec![],
            action: None,
            signed_off_by: None,
            resolution: None,
            version: 0,
            retention: Default::default(),
        }
    }

    #[test]
    fn each_role_sees_only_its_cases() {
        let c = case(1, "police", "phone", "decline");
        let table = [
            (account(1, Role::Desk, "police"), Visibility::Full),
            (account(2, Role::Desk, "police"), Visibility::Hidden),
            (account(3, Role::Supervisor, "police"), Visibility::Full),
            (account(4, Role::Supervisor, "health"), Visibility::Hidden),
            (account(5, Role::Counsel, "law"), Visibility::Hidden),
            (account(6, Role::Records, "records"), Visibility::Hidden),
            (
                account(7, Role::Auditor, "audit"),
                Visibility::WithoutPersonal,
            ),
            (account(8, Role::Admin, "it"), Visibility::Hidden),
        ];
        for (a, expected) in table {
            assert_eq!(visibility(&a, &c), expected, "{:?}", a.role);
        }
        assert_eq!(
            visibility(
                &account(5, Role::Counsel, "law"),
                &case(1, "police", "phone", REFER)
            ),
            Visibility::Full
        );
        assert_eq!(
            visibility(
                &account(6, Role::Records, "r"),
                &case(1, "police", RECORDS_CHANNEL, "comply")
            ),
            Visibility::Full
        );
    }
}
