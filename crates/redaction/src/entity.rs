//! What the detectors find: entity kinds, confidence levels and findings (spans, never values).

use serde::{Deserialize, Serialize};

/// A kind of protected personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    /// US Social Security number.
    Ssn,
    /// Individual Taxpayer Identification Number (9xx, group in the IRS ranges).
    Itin,
    /// Alien registration number (A-number).
    ANumber,
    /// USCIS case receipt number (e.g. `LIN2112345678`).
    UscisReceipt,
    /// I-94 admission record number.
    I94,
    /// US or foreign passport number, or a passport MRZ line.
    Passport,
    /// Illinois driver's licence or state ID number.
    DriverLicense,
    /// Vehicle licence plate.
    LicensePlate,
    /// Telephone number.
    Phone,
    /// E-mail address.
    Email,
    /// IPv4 or IPv6 address.
    IpAddress,
    /// Payment card number (Luhn-valid).
    CardNumber,
    /// ABA bank routing number (checksum-valid, in context).
    BankRouting,
    /// Bank account number (in context).
    BankAccount,
    /// Municipal ID number (e.g. Chicago CityKey), by the policy's pattern.
    MunicipalId,
    /// Date of birth (a date told apart from other dates by context).
    DateOfBirth,
    /// Street (home) address.
    StreetAddress,
    /// Immigration or citizenship status phrase.
    ImmigrationStatus,
    /// Place of birth, country of origin or nationality.
    PlaceOfBirth,
    /// Person name.
    Person,
}

impl EntityKind {
    /// Every kind, in a stable order (reports, policies).
    pub const ALL: [EntityKind; 20] = [
        EntityKind::Ssn,
        EntityKind::Itin,
        EntityKind::ANumber,
        EntityKind::UscisReceipt,
        EntityKind::I94,
        EntityKind::Passport,
        EntityKind::DriverLicense,
        EntityKind::LicensePlate,
        EntityKind::Phone,
        EntityKind::Email,
        EntityKind::IpAddress,
        EntityKind::CardNumber,
        EntityKind::BankRouting,
        EntityKind::BankAccount,
        EntityKind::MunicipalId,
        EntityKind::DateOfBirth,
        EntityKind::StreetAddress,
        EntityKind::ImmigrationStatus,
        EntityKind::PlaceOfBirth,
        EntityKind::Person,
    ];

    /// The name used in policies, logs and reports (`SSN`, `A_NUMBER`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Ssn => "SSN",
            EntityKind::Itin => "ITIN",
            EntityKind::ANumber => "A_NUMBER",
            EntityKind::UscisReceipt => "USCIS_RECEIPT",
            EntityKind::I94 => "I94",
            EntityKind::Passport => "PASSPORT",
            EntityKind::DriverLicense => "DRIVER_LICENSE",
            EntityKind::LicensePlate => "LICENSE_PLATE",
            EntityKind::Phone => "PHONE",
            EntityKind::Email => "EMAIL",
            EntityKind::IpAddress => "IP_ADDRESS",
            EntityKind::CardNumber => "CARD_NUMBER",
            EntityKind::BankRouting => "BANK_ROUTING",
            EntityKind::BankAccount => "BANK_ACCOUNT",
            EntityKind::MunicipalId => "MUNICIPAL_ID",
            EntityKind::DateOfBirth => "DATE_OF_BIRTH",
            EntityKind::StreetAddress => "STREET_ADDRESS",
            EntityKind::ImmigrationStatus => "IMMIGRATION_STATUS",
            EntityKind::PlaceOfBirth => "PLACE_OF_BIRTH",
            EntityKind::Person => "PERSON",
        }
    }

    /// Parses the policy/log name of a kind.
    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Structured identifiers: found by pattern plus validator, held to the strictest targets.
    pub fn is_structured_identifier(self) -> bool {
        !matches!(
            self,
            EntityKind::DateOfBirth
                | EntityKind::StreetAddress
                | EntityKind::ImmigrationStatus
                | EntityKind::PlaceOfBirth
                | EntityKind::Person
        )
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure a detector is, in discrete levels a records officer can reason about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Shape fits but nothing confirms it: listed for review, not redacted by default.
    Possible,
    /// Shape plus context or a partial validator.
    Likely,
    /// A checksum or strong structure confirms it.
    VeryLikely,
}

impl Confidence {
    /// A number for logs that want one (0.5 / 0.8 / 0.97).
    pub fn score(self) -> f32 {
        match self {
            Confidence::Possible => 0.5,
            Confidence::Likely => 0.8,
            Confidence::VeryLikely => 0.97,
        }
    }
}

/// One detected span in a text field. Holds byte offsets only, never the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// What was found.
    pub kind: EntityKind,
    /// Which detector found it (stable identifier, e.g. `pattern.ssn`).
    pub detector: &'static str,
    /// How sure the detector is.
    pub confidence: Confidence,
}

impl Finding {
    /// Byte length of the span.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for an empty span (never produced by detectors).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True when the two spans share at least one byte.
    pub fn overlaps(&self, other: &Finding) -> bool {
        self.start < other.end && other.start < self.end
    }
}
