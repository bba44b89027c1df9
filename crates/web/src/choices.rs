//! The plain choices staff pick from, and the engine facts each one means.
//! Every choice id doubles as the suffix of its Fluent label (`who-ice`, ...).

use citygate_engine::vocab::{
    Act, AgencyKind, Consent, DataCategory, Document, DocumentKind, Party, Purpose, Request,
    RequesterKind, Signer,
};
use citygate_engine::Fact;

/// Where the person at the desk works.
pub const WHERE: &[(&str, AgencyKind)] = &[
    ("police", AgencyKind::LawEnforcement),
    ("jail", AgencyKind::Corrections),
    ("id-office", AgencyKind::MunicipalId),
    ("human-services", AgencyKind::HumanServices),
    ("health", AgencyKind::Health),
    ("school", AgencyKind::Education),
    ("library", AgencyKind::Library),
    ("lawdept", AgencyKind::LawDepartment),
    ("records", AgencyKind::RecordsOffice),
    ("other", AgencyKind::Other),
];

/// Who is asking.
pub const WHO: &[(&str, RequesterKind)] = &[
    ("ice", RequesterKind::ImmigrationAgency),
    ("federal", RequesterKind::FederalLawEnforcement),
    ("police", RequesterKind::StateOrLocalLawEnforcement),
    ("court", RequesterKind::Court),
    ("prosecutor", RequesterKind::Prosecutor),
    ("lawdept", RequesterKind::LawDepartment),
    ("self", RequesterKind::Subject),
    ("parent", RequesterKind::ParentOrGuardian),
    ("lawyer", RequesterKind::AttorneyForSubject),
    ("public", RequesterKind::Public),
    ("company", RequesterKind::Commercial),
    ("city", RequesterKind::CityAgency),
];

/// What they ask for: the act, and the data when the choice names it.
pub const WHAT: &[(&str, Act, &[DataCategory])] = &[
    ("hold", Act::Detain, &[]),
    ("handover", Act::TransferCustody, &[]),
    ("see-person", Act::GrantAccessToPerson, &[]),
    ("use-place", Act::GrantFacilityUse, &[]),
    (
        "release-date",
        Act::ShareInformation,
        &[DataCategory::ReleaseDate, DataCategory::CustodyStatus],
    ),
    (
        "address",
        Act::ShareInformation,
        &[DataCategory::ContactInformation],
    ),
    (
        "status",
        Act::ShareInformation,
        &[DataCategory::ImmigrationStatus],
    ),
    (
        "id-records",
        Act::ShareInformation,
        &[DataCategory::MunicipalIdRecord],
    ),
    ("records-other", Act::ShareInformation, &[]),
    ("database", Act::GrantDatabaseAccess, &[]),
    ("operation", Act::AssistOperation, &[]),
    ("agreement", Act::EnterAgreement, &[]),
    ("enter", Act::PermitEntry, &[]),
    (
        "foia-arrest",
        Act::ReleasePublicRecords,
        &[DataCategory::ArrestReport],
    ),
    ("foia-other", Act::ReleasePublicRecords, &[]),
    ("ask-status", Act::AskStatus, &[]),
    ("form-question", Act::ConditionBenefit, &[]),
    ("visa", Act::CertifyVictim, &[]),
];

/// A paper as the first screen names it: its kind and, where the form says, its signer.
pub type Paper = (DocumentKind, Option<Signer>);

/// What paper they have. `None` for "not sure": documents stay unknown.
pub const PAPER: &[(&str, Option<Paper>)] = &[
    ("none", Some((DocumentKind::None, None))),
    ("judge-warrant", Some((DocumentKind::JudicialWarrant, None))),
    ("court-order", Some((DocumentKind::CourtOrder, None))),
    ("court-subpoena", Some((DocumentKind::CourtSubpoena, None))),
    ("grand-jury", Some((DocumentKind::GrandJurySubpoena, None))),
    (
        "ice-detainer",
        Some((
            DocumentKind::ImmigrationDetainer,
            Some(Signer::ImmigrationOfficer),
        )),
    ),
    (
        "ice-warrant",
        Some((
            DocumentKind::CivilImmigrationWarrant,
            Some(Signer::ImmigrationOfficer),
        )),
    ),
    (
        "ice-subpoena",
        Some((
            DocumentKind::AdministrativeSubpoena,
            Some(Signer::ImmigrationOfficer),
        )),
    ),
    (
        "ij-order",
        Some((
            DocumentKind::ImmigrationJudgeOrder,
            Some(Signer::ImmigrationJudge),
        )),
    ),
    ("consent", Some((DocumentKind::WrittenConsent, None))),
    ("foia", Some((DocumentKind::RecordsRequest, None))),
    ("unknown", None),
];

fn find<'a, T>(table: &'a [(&'static str, T)], id: &str) -> Option<&'a T> {
    table.iter().find(|(k, _)| *k == id).map(|(_, v)| v)
}

/// A form field that named no known choice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: choose one of the options")]
pub struct BadChoice {
    /// The form field.
    pub field: &'static str,
}

/// The first screen's answers, turned into a request.
pub fn first_request(
    jurisdiction: citygate_engine::vocab::Jurisdiction,
    where_id: &str,
    who_id: &str,
    what_id: &str,
    paper_id: &str,
) -> Result<Request, BadChoice> {
    let agency = *find(WHERE, where_id).ok_or(BadChoice { field: "where" })?;
    let requester = *find(WHO, who_id).ok_or(BadChoice { field: "who" })?;
    let (act, data) = WHAT
        .iter()
        .find(|(k, _, _)| *k == what_id)
        .map(|(_, a, d)| (*a, *d))
        .ok_or(BadChoice { field: "what" })?;
    let paper = *find(PAPER, paper_id).ok_or(BadChoice { field: "paper" })?;
    let mut r = Request::new(jurisdiction, act);
    r.agency = Some(Party {
        kind: agency,
        name: None,
    });
    r.requester = Some(Party {
        kind: requester,
        name: None,
    });
    if !data.is_empty() {
        r.data = Some(data.to_vec());
    }
    r.documents = paper.map(|(kind, signed_by)| {
        if kind == DocumentKind::None {
            Vec::new()
        } else {
            vec![Document {
                kind,
                signed_by,
                criminal: None,
                verified: None,
            }]
        }
    });
    if paper.is_some_and(|(k, _)| k == DocumentKind::WrittenConsent) {
        r.subject.consent = Some(Consent::Written);
    }
    Ok(r)
}

/// One answer to a question: its form value and Fluent label key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Option_ {
    /// Form value.
    pub value: String,
    /// Fluent key of the label.
    pub label_key: String,
}

fn opts(values: impl IntoIterator<Item = (String, String)>) -> Vec<Option_> {
    values
        .into_iter()
        .map(|(value, label_key)| Option_ { value, label_key })
        .collect()
}

fn yes_no() -> Vec<Option_> {
    opts([("true".into(), "yes".into()), ("false".into(), "no".into())])
}

/// The Fluent key of a question.
pub fn question_key(fact: Fact) -> &'static str {
    match fact {
        Fact::Agency => "q-agency",
        Fact::Requester => "q-requester",
        Fact::Act => "q-act",
        Fact::Data => "q-data",
        Fact::Purpose => "q-purpose",
        Fact::Documents => "q-documents",
        Fact::DocumentSigner => "q-signer",
        Fact::DocumentCriminal => "q-criminal",
        Fact::DocumentVerified => "q-verified",
        Fact::Consent => "q-consent",
        Fact::InCustody => "q-in-custody",
        Fact::Minor => "q-minor",
        Fact::ViolentOrSeriousConviction => "q-conviction",
        Fact::CrimeVictim => "q-victim",
        Fact::InRemovalProceedings => "q-removal",
        Fact::Bulk => "q-bulk",
    }
}

/// The choices for a question.
pub fn options(fact: Fact) -> Vec<Option_> {
    match fact {
        Fact::Agency => opts(
            WHERE
                .iter()
                .map(|(k, _)| (k.to_string(), format!("where-{k}"))),
        ),
        Fact::Requester => opts(WHO.iter().map(|(k, _)| (k.to_string(), format!("who-{k}")))),
        Fact::Act => opts(
            WHAT.iter()
                .map(|(k, _, _)| (k.to_string(), format!("what-{k}"))),
        ),
        Fact::Data => opts(
            DataCategory::ALL
                .iter()
                .map(|d| (d.to_string(), format!("data-{d}"))),
        ),
        Fact::Purpose => opts(
            Purpose::ALL
                .iter()
                .filter(|p| **p != Purpose::Unknown)
                .map(|p| (p.to_string(), format!("purpose-{p}"))),
        ),
        Fact::Documents => opts(
            PAPER
                .iter()
                .filter(|(_, v)| v.is_some())
                .map(|(k, _)| (k.to_string(), format!("paper-{k}"))),
        ),
        Fact::DocumentSigner => opts(
            Signer::ALL
                .iter()
                .map(|s| (s.to_string(), format!("signer-{s}"))),
        ),
        Fact::Consent => opts(
            Consent::ALL
                .iter()
                .rev()
                .map(|c| (c.to_string(), format!("consent-{c}"))),
        ),
        Fact::DocumentCriminal
        | Fact::DocumentVerified
        | Fact::InCustody
        | Fact::Minor
        | Fact::ViolentOrSeriousConviction
        | Fact::CrimeVictim
        | Fact::InRemovalProceedings
        | Fact::Bulk => yes_no(),
    }
}

/// Apply an answer to a question to the request.
pub fn apply(r: &mut Request, fact: Fact, value: &str) -> Result<(), BadChoice> {
    let bad = BadChoice { field: "answer" };
    let boolean = || match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad.clone()),
    };
    match fact {
        Fact::Agency => {
            r.agency = Some(Party {
                kind: *find(WHERE, value).ok_or(bad)?,
                name: None,
            })
        }
        Fact::Requester => {
            r.requester = Some(Party {
                kind: *find(WHO, value).ok_or(bad)?,
                name: None,
            })
        }
        Fact::Act => {
            let (act, data) = WHAT
                .iter()
                .find(|(k, _, _)| *k == value)
                .map(|(_, a, d)| (*a, *d))
                .ok_or(bad)?;
            r.act = act;
            if !data.is_empty() {
                r.data = Some(data.to_vec());
            }
        }
        Fact::Data => {
            let d: DataCategory = value.parse().map_err(|_| bad)?;
            r.data.get_or_insert_with(Vec::new).push(d);
        }
        Fact::Purpose => r.purpose = Some(value.parse().map_err(|_| bad)?),
        Fact::Documents => {
            let paper = find(PAPER, value).copied().flatten().ok_or(bad)?;
            let docs = r.documents.get_or_insert_with(Vec::new);
            if paper.0 != DocumentKind::None {
                docs.push(Document {
                    kind: paper.0,
                    signed_by: paper.1,
                    criminal: None,
                    verified: None,
                });
            }
        }
        Fact::DocumentSigner => {
            let s: Signer = value.parse().map_err(|_| bad)?;
            r.documents
                .iter_mut()
                .flatten()
                .for_each(|d| d.signed_by = d.signed_by.or(Some(s)));
        }
        Fact::DocumentCriminal => {
            let b = boolean()?;
            r.documents
                .iter_mut()
                .flatten()
                .for_each(|d| d.criminal = d.criminal.or(Some(b)));
        }
        Fact::DocumentVerified => {
            let b = boolean()?;
            r.documents
                .iter_mut()
                .flatten()
                .for_each(|d| d.verified = d.verified.or(Some(b)));
        }
        Fact::Consent => r.subject.consent = Some(value.parse().map_err(|_| bad)?),
        Fact::InCustody => r.subject.in_custody = Some(boolean()?),
        Fact::Minor => r.subject.minor = Some(boolean()?),
        Fact::ViolentOrSeriousConviction => {
            r.subject.violent_or_serious_conviction_within_5_years = Some(boolean()?)
        }
        Fact::CrimeVictim => r.subject.crime_victim = Some(boolean()?),
        Fact::InRemovalProceedings => r.subject.in_removal_proceedings = Some(boolean()?),
        Fact::Bulk => r.bulk = Some(boolean()?),
    }
    Ok(())
}

/// Parse a question's fact from its form value (the fact's JSON path).
pub fn fact_from_path(path: &str) -> Option<Fact> {
    Fact::ALL.into_iter().find(|f| f.path() == path)
}
