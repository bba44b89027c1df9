//! Column and key classification for tables and JSON: from the header (or key) and a sample of
//! values, decide whether a column is one kind of personal data (acted on whole), free text
//! (scanned cell by cell), or other (also scanned: nothing is released unscanned).

use serde::Serialize;

use crate::detect::cues::Cue;
use crate::detect::{DetectorChain, FieldHint};
use crate::entity::{Confidence, EntityKind};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "role", content = "kind")]
pub enum ColumnRole {
    /// Every cell is one value of this kind: the operator applies to the whole cell.
    Entity(EntityKind),
    /// Narrative / notes: each cell goes through the detector chain.
    FreeText,
    /// Not personal by its header or sample: each cell is still scanned.
    Other,
}

/// A column's classification, for the release report.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnClass {
    /// Header as written.
    pub name: String,
    /// Final decision.
    #[serde(flatten)]
    pub role: ColumnRole,
    /// What the header alone said.
    pub header_role: ColumnRole,
    /// The dominant kind in the sample, if any, and its share of non-empty cells.
    pub sample_kind: Option<EntityKind>,
    /// Share of sampled non-empty cells that were wholly that kind.
    pub sample_share: f32,
    /// Number of non-empty cells sampled.
    pub sampled: usize,
}

/// Headers and keys, normalised (lower case, `_` between words), that name a kind of data.
const HEADER_LEXICON: &[(&str, EntityKind)] = &[
    ("ip_address", EntityKind::IpAddress),
    ("ip", EntityKind::IpAddress),
    ("email_address", EntityKind::Email),
    ("email", EntityKind::Email),
    ("e_mail", EntityKind::Email),
    ("correo", EntityKind::Email),
    ("ssn", EntityKind::Ssn),
    ("social_security", EntityKind::Ssn),
    ("soc_sec", EntityKind::Ssn),
    ("ss_no", EntityKind::Ssn),
    ("itin", EntityKind::Itin),
    ("a_number", EntityKind::ANumber),
    ("anumber", EntityKind::ANumber),
    ("alien_no", EntityKind::ANumber),
    ("alien_number", EntityKind::ANumber),
    ("a_no", EntityKind::ANumber),
    ("uscis_number", EntityKind::ANumber),
    ("receipt", EntityKind::UscisReceipt),
    ("i94", EntityKind::I94),
    ("i_94", EntityKind::I94),
    ("admission_number", EntityKind::I94),
    ("passport", EntityKind::Passport),
    ("pasaporte", EntityKind::Passport),
    ("dl", EntityKind::DriverLicense),
    ("drivers_license", EntityKind::DriverLicense),
    ("driver_license", EntityKind::DriverLicense),
    ("driver_s_license", EntityKind::DriverLicense),
    ("state_id", EntityKind::DriverLicense),
    ("idl", EntityKind::DriverLicense),
    ("plate", EntityKind::LicensePlate),
    ("lp", EntityKind::LicensePlate),
    ("tag", EntityKind::LicensePlate),
    ("phone", EntityKind::Phone),
    ("telephone", EntityKind::Phone),
    ("tel", EntityKind::Phone),
    ("cell", EntityKind::Phone),
    ("mobile", EntityKind::Phone),
    ("telefono", EntityKind::Phone),
    ("card", EntityKind::CardNumber),
    ("credit_card", EntityKind::CardNumber),
    ("routing", EntityKind::BankRouting),
    ("aba", EntityKind::BankRouting),
    ("account", EntityKind::BankAccount),
    ("bank_account", EntityKind::BankAccount),
    ("citykey", EntityKind::MunicipalId),
    ("city_key", EntityKind::MunicipalId),
    ("municipal_id", EntityKind::MunicipalId),
    ("dob", EntityKind::DateOfBirth),
    ("d_o_b", EntityKind::DateOfBirth),
    ("born", EntityKind::DateOfBirth),
    ("date_of_birth", EntityKind::DateOfBirth),
    ("birth_date", EntityKind::DateOfBirth),
    ("birthdate", EntityKind::DateOfBirth),
    ("fecha_de_nacimiento", EntityKind::DateOfBirth),
    ("fecha_nacimiento", EntityKind::DateOfBirth),
    ("address", EntityKind::StreetAddress),
    ("home_address", EntityKind::StreetAddress),
    ("street_address", EntityKind::StreetAddress),
    ("residence", EntityKind::StreetAddress),
    ("addr", EntityKind::StreetAddress),
    ("direccion", EntityKind::StreetAddress),
    ("immigration_status", EntityKind::ImmigrationStatus),
    ("citizenship_status", EntityKind::ImmigrationStatus),
    ("legal_status", EntityKind::ImmigrationStatus),
    ("estatus_migratorio", EntityKind::ImmigrationStatus),
    ("country_of_birth", EntityKind::PlaceOfBirth),
    ("place_of_birth", EntityKind::PlaceOfBirth),
    ("pob", EntityKind::PlaceOfBirth),
    ("birthplace", EntityKind::PlaceOfBirth),
    ("nationality", EntityKind::PlaceOfBirth),
    ("country_of_origin", EntityKind::PlaceOfBirth),
    ("citizenship", EntityKind::PlaceOfBirth),
    ("country_of_citizenship", EntityKind::PlaceOfBirth),
    ("nacionalidad", EntityKind::PlaceOfBirth),
    ("lugar_de_nacimiento", EntityKind::PlaceOfBirth),
    ("name", EntityKind::Person),
    ("first_name", EntityKind::Person),
    ("last_name", EntityKind::Person),
    ("middle_name", EntityKind::Person),
    ("lname", EntityKind::Person),
    ("fname", EntityKind::Person),
    ("mname", EntityKind::Person),
    ("last", EntityKind::Person),
    ("first", EntityKind::Person),
    ("middle", EntityKind::Person),
    ("given", EntityKind::Person),
    ("dob_date", EntityKind::DateOfBirth),
    ("full_name", EntityKind::Person),
    ("given_name", EntityKind::Person),
    ("surname", EntityKind::Person),
    ("family_name", EntityKind::Person),
    ("arrestee", EntityKind::Person),
    ("applicant", EntityKind::Person),
    ("nombre", EntityKind::Person),
    ("apellido", EntityKind::Person),
    ("aka", EntityKind::Person),
    ("alias", EntityKind::Person),
];

const FREE_TEXT_HEADERS: &[&str] = &[
    "narrative",
    "notes",
    "note",
    "remarks",
    "comments",
    "comment",
    "description",
    "summary",
    "body",
    "text",
    "details",
    "synopsis",
    "message",
    "subject_line",
    "memo",
];

/// Header words that make a "name"-like header about something other than a person.
const NOT_PERSON_WORDS: &[&str] = &[
    "officer", "street", "file", "unit", "agency", "district", "beat", "charge", "offense", "user",
    "host", "domain", "business", "company", "employer", "facility", "vehicle", "status",
];

/// Lower case, `_` between alphanumeric runs.
pub fn normalise_header(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// What a header (or JSON key) alone says about its column.
pub fn classify_header(header: &str) -> ColumnRole {
    let h = normalise_header(header);
    if h.is_empty() {
        return ColumnRole::Other;
    }
    if let Some((_, k)) = HEADER_LEXICON.iter().find(|(key, _)| *key == h) {
        return ColumnRole::Entity(*k);
    }
    if FREE_TEXT_HEADERS.contains(&h.as_str()) {
        return ColumnRole::FreeText;
    }
    let words: Vec<&str> = h.split('_').collect();
    // Without collecting each key's words (a vector per lexicon entry per header).
    let joined_has = |key: &str| {
        let n = key.split('_').count();
        words
            .windows(n)
            .any(|w| w.iter().copied().eq(key.split('_')))
    };
    // Longer lexicon keys first, so "ip_address" beats "address".
    let mut best: Option<(usize, EntityKind)> = None;
    for (key, kind) in HEADER_LEXICON {
        if joined_has(key) && best.is_none_or(|(len, _)| key.len() > len) {
            best = Some((key.len(), *kind));
        }
    }
    match best {
        Some((_, EntityKind::Person)) if words.iter().any(|w| NOT_PERSON_WORDS.contains(w)) => {
            ColumnRole::Other
        }
        Some((_, EntityKind::ImmigrationStatus | EntityKind::PlaceOfBirth))
            if words.contains(&"officer") =>
        {
            ColumnRole::Other
        }
        Some((_, kind)) => ColumnRole::Entity(kind),
        None if words.iter().any(|w| FREE_TEXT_HEADERS.contains(w)) => ColumnRole::FreeText,
        None => ColumnRole::Other,
    }
}

/// [`classify_header`] remembered per thread: JSON records repeat the same keys on every line.
pub fn classify_header_cached(header: &str) -> ColumnRole {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<Box<str>, ColumnRole, KeyHash>> =
            RefCell::new(HashMap::default());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(role) = cache.get(header) {
            return *role;
        }
        let role = classify_header(header);
        // Bounded: a document with ever-new keys must not grow the cache without limit.
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(header.into(), role);
        role
    })
}

/// A cheap hash for the header cache (the keys are a document's own JSON keys, looked up once per
/// key per record; SipHash's flooding resistance buys nothing in a per-thread cache that is
/// cleared at 4,096 entries).
#[derive(Default, Clone, Copy)]
struct KeyHash;

impl std::hash::BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0xcbf2_9ce4_8422_2325)
    }
}

/// FNV-1a over 8-byte words, with a final mix.
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0 ^ u64::from_le_bytes(w)).wrapping_mul(0x0100_0000_01b3);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
    }
}

/// The field hint the detectors get for a cell of a column with this header.
pub fn hint_for(role: ColumnRole) -> FieldHint {
    let cue = match role {
        ColumnRole::Entity(EntityKind::Ssn) => Some(Cue::Ssn),
        ColumnRole::Entity(EntityKind::DateOfBirth) => Some(Cue::Birth),
        ColumnRole::Entity(EntityKind::Passport) => Some(Cue::Passport),
        ColumnRole::Entity(EntityKind::ANumber) => Some(Cue::ANumber),
        ColumnRole::Entity(EntityKind::Phone) => Some(Cue::Phone),
        ColumnRole::Entity(EntityKind::LicensePlate) => Some(Cue::Plate),
        ColumnRole::Entity(EntityKind::BankRouting) => Some(Cue::Routing),
        ColumnRole::Entity(EntityKind::BankAccount) => Some(Cue::Account),
        ColumnRole::Entity(EntityKind::I94) => Some(Cue::I94),
        _ => None,
    };
    FieldHint {
        cue,
        person: role == ColumnRole::Entity(EntityKind::Person),
        birthplace: role == ColumnRole::Entity(EntityKind::PlaceOfBirth),
    }
}

/// Classifies one column from its header and a sample of its values.
pub fn classify_column(chain: &DetectorChain, header: &str, sample: &[&str]) -> ColumnClass {
    let header_role = classify_header(header);
    let mut counts: Vec<(EntityKind, usize)> = Vec::new();
    let mut sampled = 0;
    let mut total_len = 0;
    for value in sample {
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        sampled += 1;
        total_len += v.len();
        let found = chain.detect_field(v, FieldHint::default());
        let covering = found
            .iter()
            .filter(|f| f.confidence >= Confidence::Likely)
            .find(|f| f.len() * 10 >= v.len() * 6)
            .map(|f| f.kind);
        // A cell that is only listed names ("GARCIA") is a name even without context.
        let kind = covering.or_else(|| {
            chain
                .gazetteer()
                .is_name_value(v)
                .then_some(EntityKind::Person)
        });
        if let Some(kind) = kind {
            match counts.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((kind, 1)),
            }
        }
    }
    let (sample_kind, hits) = counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .map(|(k, n)| (Some(*k), *n))
        .unwrap_or((None, 0));
    let sample_share = if sampled == 0 {
        0.0
    } else {
        hits as f32 / sampled as f32
    };
    let long_text = sampled > 0 && total_len / sampled > 60;
    let role = match header_role {
        ColumnRole::Entity(_) if !long_text => header_role,
        ColumnRole::Entity(_) | ColumnRole::FreeText => ColumnRole::FreeText,
        ColumnRole::Other => match sample_kind {
            Some(k) if sample_share >= 0.6 && !long_text => ColumnRole::Entity(k),
            _ if long_text => ColumnRole::FreeText,
            _ => ColumnRole::Other,
        },
    };
    ColumnClass {
        name: header.to_string(),
        role,
        header_role,
        sample_kind,
        sample_share,
        sampled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(classify_header("SSN"), ColumnRole::Entity(EntityKind::Ssn));
        assert_eq!(
            classify_header("Home Phone"),
            ColumnRole::Entity(EntityKind::Phone)
        );
        assert_eq!(
            classify_header("ip_address"),
            ColumnRole::Entity(EntityKind::IpAddress)
        );
        assert_eq!(
            classify_header("Arrestee Last Name"),
            ColumnRole::Entity(EntityKind::Person)
        );
        assert_eq!(classify_header("Officer Name"), ColumnRole::Other);
        assert_eq!(classify_header("Street Name"), ColumnRole::Other);
        assert_eq!(
            classify_header("Country of Birth"),
            ColumnRole::Entity(EntityKind::PlaceOfBirth)
        );
        assert_eq!(classify_header("Narrative"), ColumnRole::FreeText);
        assert_eq!(classify_header("charge_description"), ColumnRole::FreeText);
        assert_eq!(classify_header("RD Number"), ColumnRole::Other);
    }
}
