//! The request vocabulary: the public contract every part of citygate speaks.
//!
//! Extend it, never rename: rule packs, the reader, the service and stored cases
//! all use these names. Every enum serialises in `snake_case` (jurisdictions in
//! `kebab-case`), and unknown fields or values are rejected with the allowed list.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Declares a closed vocabulary enum with its wire names, so that the list of
/// allowed values used in error messages can never drift from the serde names.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Position in [`Self::ALL`], used for bit sets.
            pub fn index(self) -> u32 {
                self as u32
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        kind: stringify!($name),
                        allowed: &[$($wire),+],
                    }),
                }
            }
        }
    };
}

/// A value outside a closed vocabulary. Deliberately does not carry the value
/// itself: it may be personal data typed into the wrong field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value; allowed: {}", allowed.join(", "))]
pub struct UnknownValue {
    /// Which vocabulary.
    pub kind: &'static str,
    /// The allowed wire names.
    pub allowed: &'static [&'static str],
}

vocabulary! {
    /// Where the acting body sits; selects the chain of rule packs.
    Jurisdiction {
        /// The City of Chicago.
        Chicago = "chicago",
        /// Cook County, Illinois.
        CookCounty = "cook-county",
        /// Any other Illinois public body.
        Illinois = "illinois",
        /// New York City.
        NewYorkCity = "new-york-city",
        /// A California county or city.
        California = "california",
        /// The City and County of San Francisco (California law plus its own).
        SanFrancisco = "san-francisco",
    }
}

vocabulary! {
    /// Level of a rule pack in the layered precedence.
    Level {
        /// Federal statutes, regulations, the Constitution.
        Federal = "federal",
        /// State statutes.
        State = "state",
        /// County ordinances.
        County = "county",
        /// City ordinances.
        City = "city",
        /// Executive orders and official guidance (mayor, corporation counsel).
        Executive = "executive",
    }
}

vocabulary! {
    /// The kind of body that is asked.
    AgencyKind {
        LawEnforcement = "law_enforcement",
        Corrections = "corrections",
        MunicipalId = "municipal_id",
        HumanServices = "human_services",
        Health = "health",
        Education = "education",
        Library = "library",
        LawDepartment = "law_department",
        RecordsOffice = "records_office",
        MotorVehicles = "motor_vehicles",
        Other = "other",
    }
}

vocabulary! {
    /// Who is asking.
    RequesterKind {
        /// ICE, CBP, USCIS, or anyone acting for civil immigration enforcement.
        ImmigrationAgency = "immigration_agency",
        /// FBI, DEA, ATF, US Marshals, HSI on a criminal case.
        FederalLawEnforcement = "federal_law_enforcement",
        StateOrLocalLawEnforcement = "state_or_local_law_enforcement",
        Court = "court",
        Prosecutor = "prosecutor",
        /// The city's own counsel.
        LawDepartment = "law_department",
        /// The person the data is about.
        Subject = "subject",
        ParentOrGuardian = "parent_or_guardian",
        AttorneyForSubject = "attorney_for_subject",
        /// Members of the public, including journalists.
        Public = "public",
        Commercial = "commercial",
        CityAgency = "city_agency",
    }
}

vocabulary! {
    /// What the requester asks the agency to do.
    Act {
        /// Stop, arrest, hold or keep holding a person.
        Detain = "detain",
        TransferCustody = "transfer_custody",
        /// In person or by phone.
        GrantAccessToPerson = "grant_access_to_person",
        /// Rooms, lots, buildings, equipment.
        GrantFacilityUse = "grant_facility_use",
        ShareInformation = "share_information",
        GrantDatabaseAccess = "grant_database_access",
        /// Perimeter, transport, on-site support.
        AssistOperation = "assist_operation",
        /// 287(g), detention contract, data-sharing agreement.
        EnterAgreement = "enter_agreement",
        /// Ask about or investigate immigration status or place of birth.
        AskStatus = "ask_status",
        /// Make a benefit depend on status, or put a status question on a form.
        ConditionBenefit = "condition_benefit",
        /// Consent to entry into a non-public area.
        PermitEntry = "permit_entry",
        /// Answer a public-records (FOIA) request.
        ReleasePublicRecords = "release_public_records",
        /// U/T visa certification.
        CertifyVictim = "certify_victim",
    }
}

vocabulary! {
    /// Categories of data asked for.
    DataCategory {
        ImmigrationStatus = "immigration_status",
        Citizenship = "citizenship",
        PlaceOfBirth = "place_of_birth",
        NationalOrigin = "national_origin",
        CustodyStatus = "custody_status",
        ReleaseDate = "release_date",
        ContactInformation = "contact_information",
        CriminalHistory = "criminal_history",
        MunicipalIdRecord = "municipal_id_record",
        SourceDocuments = "source_documents",
        ArrestReport = "arrest_report",
        BookingRecord = "booking_record",
        EmploymentRecord = "employment_record",
        BenefitsRecord = "benefits_record",
        HealthRecord = "health_record",
        EducationRecord = "education_record",
    }
}

vocabulary! {
    /// Why the requester asks.
    Purpose {
        CivilImmigrationEnforcement = "civil_immigration_enforcement",
        CriminalInvestigation = "criminal_investigation",
        Mixed = "mixed",
        Litigation = "litigation",
        Benefits = "benefits",
        PublicRecords = "public_records",
        Unknown = "unknown",
    }
}

vocabulary! {
    /// The paper the requester presents.
    DocumentKind {
        None = "none",
        /// I-200, I-203, I-205, I-286, NCIC immigration violator hit.
        CivilImmigrationWarrant = "civil_immigration_warrant",
        /// I-247A, I-247D/N/X.
        ImmigrationDetainer = "immigration_detainer",
        /// DHS/ICE subpoena (8 U.S.C. § 1225(d), 8 CFR 287.4).
        AdministrativeSubpoena = "administrative_subpoena",
        JudicialWarrant = "judicial_warrant",
        CourtOrder = "court_order",
        CourtSubpoena = "court_subpoena",
        GrandJurySubpoena = "grand_jury_subpoena",
        /// Signed by an immigration judge (executive branch): not judicial.
        ImmigrationJudgeOrder = "immigration_judge_order",
        WrittenConsent = "written_consent",
        RecordsRequest = "records_request",
        Agreement = "agreement",
        StatuteOrRegulation = "statute_or_regulation",
    }
}

vocabulary! {
    /// Who signed a document.
    Signer {
        FederalJudge = "federal_judge",
        MagistrateJudge = "magistrate_judge",
        StateJudge = "state_judge",
        ImmigrationJudge = "immigration_judge",
        ImmigrationOfficer = "immigration_officer",
        Other = "other",
    }
}

vocabulary! {
    /// The subject's consent to disclosure.
    Consent {
        None = "none",
        Written = "written",
    }
}

/// A request to the engine: "may this agency do what this requester asks?"
///
/// Every fact except `jurisdiction` and `act` may be left out: a fact not given is
/// unknown, and if the answer depends on it the engine refers and asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub jurisdiction: Jurisdiction,
    /// The day of the act; today when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<Party<AgencyKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Party<RequesterKind>>,
    pub act: Act,
    /// Data asked for; absent means unknown, `[]` means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<DataCategory>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Papers presented; absent means unknown, `[]` or `[{"kind":"none"}]` means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<Document>>,
    #[serde(default)]
    pub subject: Subject,
    /// Many people's records asked for at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk: Option<bool>,
}

/// An agency or requester: its kind (a fact) and an optional display name (never a fact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party<K> {
    pub kind: K,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A document presented with the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub kind: DocumentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<Signer>,
    /// For warrants: issued for a criminal offence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criminal: Option<bool>,
    /// Authenticity confirmed by counsel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// Facts about the person the request concerns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_custody: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violent_or_serious_conviction_within_5_years: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crime_victim: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_removal_proceedings: Option<bool>,
}

impl Request {
    /// A request with only the two required facts; everything else unknown.
    pub fn new(jurisdiction: Jurisdiction, act: Act) -> Self {
        Request {
            jurisdiction,
            date: None,
            agency: None,
            requester: None,
            act,
            data: None,
            purpose: None,
            documents: None,
            subject: Subject::default(),
            bulk: None,
        }
    }
}

/// A request that could not be read. Names the field and what is allowed, and
/// never repeats the value given (it may be personal data in the wrong field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RequestError {
    /// Path of the offending field, e.g. `documents[0].kind`, or `request` for the whole.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Drop quoted user values from a serde message, keeping the schema's own words
/// (the field names and the lists of allowed values after "expected"). Public so
/// every part that reports a JSON error (the CLI, the service) withholds values
/// the same way.
pub fn withhold_values(message: &str) -> String {
    let (head, tail) = match message.find("expected") {
        Some(i) => message.split_at(i),
        None => (message, ""),
    };
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in head.chars() {
        match c {
            '`' | '"' => {
                if !quoted {
                    out.push_str("(value withheld)");
                }
                quoted = !quoted;
            }
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    // A missing field is named by the schema, not the caller: keep it. (An unknown
    // key is the caller's own text, which could be anything: withheld like a value.)
    if head.starts_with("missing field") {
        out = head.to_string();
    }
    // serde_json appends " at line L column C"; keep it, it is position only.
    out.push_str(tail);
    out
}

/// The path of a bad field, safe to show: for an unknown field the last segment is
/// the caller's own key, replaced by `(unknown field)`.
pub fn safe_field_path(path: &str, message: &str) -> String {
    if !message.starts_with("unknown field") {
        return path.to_owned();
    }
    match path.rfind('.') {
        Some(i) => format!("{}.(unknown field)", &path[..i]),
        None => "(unknown field)".to_owned(),
    }
}

impl Request {
    /// Read a request from JSON, with errors that name the field.
    pub fn from_json(text: &str) -> Result<Request, RequestError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let request: Request = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let raw = e.into_inner().to_string();
            let field = if path == "." || path == "?" {
                "request".to_string()
            } else {
                safe_field_path(&path, &raw)
            };
            RequestError {
                field,
                message: withhold_values(&raw),
            }
        })?;
        de.end().map_err(|e| RequestError {
            field: "request".into(),
            message: withhold_values(&e.to_string()),
        })?;
        Ok(request)
    }
}
