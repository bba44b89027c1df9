//! A request's facts in the form conditions evaluate on, and the fact names and
//! plain-language questions the engine asks when a fact is missing.

use serde::Serialize;

use crate::vocab::{Consent, DocumentKind, Purpose, Request};

/// A fact of the request vocabulary, as named in answers and questions (its JSON
/// path, see [`Fact::path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    Agency,
    Requester,
    Act,
    Data,
    Purpose,
    Documents,
    DocumentSigner,
    DocumentCriminal,
    DocumentVerified,
    Consent,
    InCustody,
    Minor,
    ViolentOrSeriousConviction,
    CrimeVictim,
    InRemovalProceedings,
    Bulk,
}

impl Serialize for Fact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.path())
    }
}

impl Fact {
    /// Every fact.
    pub const ALL: [Fact; 16] = [
        Fact::Agency,
        Fact::Requester,
        Fact::Act,
        Fact::Data,
        Fact::Purpose,
        Fact::Documents,
        Fact::DocumentSigner,
        Fact::DocumentCriminal,
        Fact::DocumentVerified,
        Fact::Consent,
        Fact::InCustody,
        Fact::Minor,
        Fact::ViolentOrSeriousConviction,
        Fact::CrimeVictim,
        Fact::InRemovalProceedings,
        Fact::Bulk,
    ];

    /// The fact's path in the request JSON.
    pub fn path(self) -> &'static str {
        match self {
            Fact::Agency => "agency.kind",
            Fact::Requester => "requester.kind",
            Fact::Act => "act",
            Fact::Data => "data",
            Fact::Purpose => "purpose",
            Fact::Documents => "documents",
            Fact::DocumentSigner => "documents[].signed_by",
            Fact::DocumentCriminal => "documents[].criminal",
            Fact::DocumentVerified => "documents[].verified",
            Fact::Consent => "subject.consent",
            Fact::InCustody => "subject.in_custody",
            Fact::Minor => "subject.minor",
            Fact::ViolentOrSeriousConviction => {
                "subject.violent_or_serious_conviction_within_5_years"
            }
            Fact::CrimeVictim => "subject.crime_victim",
            Fact::InRemovalProceedings => "subject.in_removal_proceedings",
            Fact::Bulk => "bulk",
        }
    }

    /// Which question to ask first when several would settle an answer: the
    /// paper in hand is quickest to check and most often decisive, then who is
    /// asking and for what, then facts about the person.
    pub fn priority(self) -> u8 {
        match self {
            Fact::Documents => 0,
            Fact::DocumentSigner => 1,
            Fact::DocumentCriminal => 2,
            Fact::DocumentVerified => 3,
            Fact::Requester => 4,
            Fact::Agency => 5,
            Fact::Act => 6,
            Fact::Data => 7,
            Fact::Purpose => 8,
            Fact::Consent => 9,
            Fact::InCustody => 10,
            Fact::Minor => 11,
            Fact::CrimeVictim => 12,
            Fact::InRemovalProceedings => 13,
            Fact::ViolentOrSeriousConviction => 14,
            Fact::Bulk => 15,
        }
    }

    /// The question for the person at the desk.
    pub fn question(self) -> &'static str {
        match self {
            Fact::Agency => "Which kind of city body are you (police, jail, clerk, library, records office, ...)?",
            Fact::Requester => "Who is asking: ICE or Border Patrol, FBI/DEA/ATF/Marshals, police, a court, the person themself, the public?",
            Fact::Act => "What are they asking you to do?",
            Fact::Data => "Which information are they asking for (release date, address, immigration status, records, ...)?",
            Fact::Purpose => "What is the request for: civil immigration enforcement, a criminal investigation, a court case, a public-records request?",
            Fact::Documents => "What paper do they have: a judge's warrant or court order, an ICE form (I-200, I-205, I-247A), a subpoena, written consent, or nothing?",
            Fact::DocumentSigner => "Who signed the paper: a federal judge, a magistrate judge, a state judge, an immigration judge, or an immigration officer?",
            Fact::DocumentCriminal => "Is the warrant for a crime (does it cite a criminal law such as Title 18 or 8 U.S.C. § 1326)?",
            Fact::DocumentVerified => "Has the Law Department confirmed that the paper is genuine and current?",
            Fact::Consent => "Has the person (or, for a minor, a parent or guardian) given written consent?",
            Fact::InCustody => "Is the person in your custody right now?",
            Fact::Minor => "Is the person under 18?",
            Fact::ViolentOrSeriousConviction => "Was the person convicted of a violent or serious crime in the last five years?",
            Fact::CrimeVictim => "Is the person a victim of a crime (for a U or T visa certification)?",
            Fact::InRemovalProceedings => "Is the person in removal (deportation) proceedings?",
            Fact::Bulk => "Are they asking about many people at once (a list or a category of records)?",
        }
    }
}

/// The boolean facts, as bits of a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoolFact {
    InCustody,
    Minor,
    ViolentOrSeriousConviction,
    CrimeVictim,
    InRemovalProceedings,
    Bulk,
}

impl BoolFact {
    pub(crate) const ALL: [BoolFact; 6] = [
        BoolFact::InCustody,
        BoolFact::Minor,
        BoolFact::ViolentOrSeriousConviction,
        BoolFact::CrimeVictim,
        BoolFact::InRemovalProceedings,
        BoolFact::Bulk,
    ];

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub(crate) fn fact(self) -> Fact {
        match self {
            BoolFact::InCustody => Fact::InCustody,
            BoolFact::Minor => Fact::Minor,
            BoolFact::ViolentOrSeriousConviction => Fact::ViolentOrSeriousConviction,
            BoolFact::CrimeVictim => Fact::CrimeVictim,
            BoolFact::InRemovalProceedings => Fact::InRemovalProceedings,
            BoolFact::Bulk => Fact::Bulk,
        }
    }
}

/// One presented document, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocFacts {
    pub(crate) kind: u32,
    pub(crate) signed_by: Option<u32>,
    pub(crate) criminal: Option<bool>,
    pub(crate) verified: Option<bool>,
}

/// A request's facts as bits: `None` is an unknown fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub(crate) agency: Option<u32>,
    pub(crate) requester: Option<u32>,
    pub(crate) act: u32,
    pub(crate) data: Option<u32>,
    pub(crate) purpose: Option<u32>,
    pub(crate) consent: Option<u32>,
    pub(crate) documents: Option<Vec<DocFacts>>,
    pub(crate) bool_known: u8,
    pub(crate) bool_value: u8,
}

fn bit(i: u32) -> u32 {
    1 << i
}

impl Facts {
    /// Extract the facts from a request.
    pub fn of(req: &Request) -> Facts {
        let mut bool_known = 0u8;
        let mut bool_value = 0u8;
        let s = &req.subject;
        for (f, v) in [
            (BoolFact::InCustody, s.in_custody),
            (BoolFact::Minor, s.minor),
            (
                BoolFact::ViolentOrSeriousConviction,
                s.violent_or_serious_conviction_within_5_years,
            ),
            (BoolFact::CrimeVictim, s.crime_victim),
            (BoolFact::InRemovalProceedings, s.in_removal_proceedings),
            (BoolFact::Bulk, req.bulk),
        ] {
            if let Some(v) = v {
                bool_known |= f.bit();
                if v {
                    bool_value |= f.bit();
                }
            }
        }
        Facts {
            agency: req.agency.as_ref().map(|a| bit(a.kind.index())),
            requester: req.requester.as_ref().map(|r| bit(r.kind.index())),
            act: bit(req.act.index()),
            data: req
                .data
                .as_ref()
                .map(|d| d.iter().fold(0, |m, c| m | bit(c.index()))),
            purpose: req
                .purpose
                .filter(|p| *p != Purpose::Unknown)
                .map(|p| bit(p.index())),
            // Written consent may come as a document rather than a subject fact.
            consent: s.consent.map(|c| bit(c.index())).or_else(|| {
                let docs = req.documents.as_ref()?;
                docs.iter()
                    .any(|d| d.kind == DocumentKind::WrittenConsent)
                    .then(|| bit(Consent::Written.index()))
            }),
            documents: req.documents.as_ref().map(|docs| {
                docs.iter()
                    .filter(|d| d.kind != DocumentKind::None)
                    .map(|d| DocFacts {
                        kind: bit(d.kind.index()),
                        signed_by: d.signed_by.map(|s| bit(s.index())),
                        criminal: d.criminal,
                        verified: d.verified,
                    })
                    .collect()
            }),
            bool_known,
            bool_value,
        }
    }
}
