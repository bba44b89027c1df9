//! Properties of the engine over generated requests (a deterministic generator, so
//! a failure is reproducible from its printed request).

use chrono::NaiveDate;
use citygate_engine::packs::embedded_packs;
use citygate_engine::vocab::*;
use citygate_engine::{Basis, Outcome, PackText, RuleSet};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn maybe<T>(&mut self, value: T) -> Option<T> {
        (!self.next().is_multiple_of(4)).then_some(value)
    }
    fn bool(&mut self) -> Option<bool> {
        match self.next() % 3 {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        }
    }
}

fn document(rng: &mut Rng) -> Document {
    let kind = rng.pick(DocumentKind::ALL);
    Document {
        kind,
        signed_by: {
            let v = rng.pick(Signer::ALL);
            rng.maybe(v)
        },
        criminal: rng.bool(),
        verified: rng.bool(),
    }
}

fn request(rng: &mut Rng) -> Request {
    let mut r = Request::new(rng.pick(Jurisdiction::ALL), rng.pick(Act::ALL));
    let date = rng.pick(&[
        "2015-01-01",
        "2019-06-01",
        "2021-06-01",
        "2025-09-01",
        "2026-03-02",
    ]);
    r.date = Some(date.parse().unwrap_or_default());
    r.agency = {
        let v = Party {
            kind: rng.pick(AgencyKind::ALL),
            name: None,
        };
        rng.maybe(v)
    };
    r.requester = {
        let v = Party {
            kind: rng.pick(RequesterKind::ALL),
            name: None,
        };
        rng.maybe(v)
    };
    r.purpose = {
        let v = rng.pick(Purpose::ALL);
        rng.maybe(v)
    };
    let n = (rng.next() % 3) as usize;
    r.data = {
        let v: Vec<DataCategory> = (0..n).map(|_| rng.pick(DataCategory::ALL)).collect();
        rng.maybe(v)
    };
    let d = (rng.next() % 3) as usize;
    r.documents = {
        let v: Vec<Document> = (0..d).map(|_| document(rng)).collect();
        rng.maybe(v)
    };
    let consent = rng.pick(Consent::ALL);
    r.subject = Subject {
        in_custody: rng.bool(),
        minor: rng.bool(),
        consent: rng.maybe(consent),
        violent_or_serious_conviction_within_5_years: rng.bool(),
        crime_victim: rng.bool(),
        in_removal_proceedings: rng.bool(),
    };
    r.bulk = rng.bool();
    r
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

fn rules() -> RuleSet {
    RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"))
}

fn summary(rules: &RuleSet, r: &Request) -> String {
    match rules.decide(r, today()) {
        Ok(a) => {
            let ids: Vec<&str> = a.deciding.iter().map(|p| p.id.as_str()).collect();
            format!("{:?} {:?} {:?} {ids:?}", a.outcome, a.obligation, a.basis)
        }
        Err(e) => e.to_string(),
    }
}

#[test]
fn load_order_does_not_matter() {
    let packs = embedded_packs();
    let base = rules();
    let mut rng = Rng(7);
    let requests: Vec<Request> = (0..3000).map(|_| request(&mut rng)).collect();
    for round in 0..6 {
        let mut shuffled: Vec<PackText> = packs.clone();
        for i in (1..shuffled.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        if round % 2 == 1 {
            // Also reverse the provisions inside each file.
            for p in &mut shuffled {
                let mut parts: Vec<&str> = p.text.split("\n[[provision]]").collect();
                if parts.len() > 2 {
                    parts[1..].reverse();
                    p.text = parts.join("\n[[provision]]");
                }
            }
        }
        let other = RuleSet::load(&shuffled).unwrap_or_else(|e| panic!("{e}"));
        for r in &requests {
            assert_eq!(
                summary(&base, r),
                summary(&other, r),
                "round {round}: {r:?}"
            );
        }
    }
}

const ILLINOIS: [Jurisdiction; 3] = [
    Jurisdiction::Chicago,
    Jurisdiction::CookCounty,
    Jurisdiction::Illinois,
];

#[test]
fn administrative_paper_alone_never_holds_transfers_or_grants_access_in_illinois() {
    let rules = rules();
    let mut rng = Rng(11);
    let mut checked = 0;
    for _ in 0..40_000 {
        let mut r = request(&mut rng);
        r.jurisdiction = rng.pick(&ILLINOIS);
        r.act = rng.pick(&[Act::Detain, Act::TransferCustody, Act::GrantAccessToPerson]);
        let kind = rng.pick(&[
            DocumentKind::CivilImmigrationWarrant,
            DocumentKind::ImmigrationDetainer,
        ]);
        let mut docs = vec![Document {
            kind,
            signed_by: rng.maybe(Signer::ImmigrationOfficer),
            criminal: rng.bool(),
            verified: rng.bool(),
        }];
        if rng.next().is_multiple_of(2) {
            // An I-200 stapled to the detainer is still administrative paper.
            docs.push(Document {
                kind: DocumentKind::CivilImmigrationWarrant,
                signed_by: Some(Signer::ImmigrationOfficer),
                criminal: None,
                verified: None,
            });
        }
        r.documents = Some(docs);
        if let Ok(a) = rules.decide(&r, today()) {
            assert_ne!(a.outcome, Outcome::Comply, "{r:?}");
            checked += 1;
        }
    }
    assert!(checked > 30_000, "only {checked} decided");
}

#[test]
fn a_judicial_criminal_warrant_is_never_declined_for_its_arrest() {
    let rules = rules();
    let mut rng = Rng(13);
    for _ in 0..40_000 {
        let mut r = request(&mut rng);
        r.date = Some(today());
        r.act = rng.pick(&[Act::Detain, Act::TransferCustody]);
        let signer = rng.pick(&[Signer::FederalJudge, Signer::MagistrateJudge]);
        let mut docs = vec![Document {
            kind: DocumentKind::JudicialWarrant,
            signed_by: Some(signer),
            criminal: Some(true),
            verified: rng.bool(),
        }];
        if rng.next().is_multiple_of(2) {
            docs.push(document(&mut rng));
        }
        r.documents = Some(docs);
        let a = rules
            .decide(&r, today())
            .unwrap_or_else(|e| panic!("{e}: {r:?}"));
        assert_ne!(a.outcome, Outcome::Decline, "{r:?}");
    }
}

/// Every value a question's fact can take, applied to a copy of the request.
fn answers(r: &Request, fact: citygate_engine::Fact) -> Vec<Request> {
    use citygate_engine::Fact as F;
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut Request)| {
        let mut c = r.clone();
        f(&mut c);
        c
    };
    let bools = [false, true];
    match fact {
        F::Agency => AgencyKind::ALL.iter().for_each(|k| {
            out.push(with(&|c| {
                c.agency = Some(Party {
                    kind: *k,
                    name: None,
                })
            }))
        }),
        F::Requester => RequesterKind::ALL.iter().for_each(|k| {
            out.push(with(&|c| {
                c.requester = Some(Party {
                    kind: *k,
                    name: None,
                })
            }))
        }),
        F::Act => {}
        F::Data => DataCategory::ALL
            .iter()
            .for_each(|d| out.push(with(&|c| c.data = Some(vec![*d])))),
        F::Purpose => Purpose::ALL
            .iter()
            .filter(|p| **p != Purpose::Unknown)
            .for_each(|p| out.push(with(&|c| c.purpose = Some(*p)))),
        F::Documents => DocumentKind::ALL.iter().for_each(|k| {
            out.push(with(&|c| {
                c.documents = Some(vec![Document {
                    kind: *k,
                    signed_by: None,
                    criminal: None,
                    verified: None,
                }])
            }))
        }),
        F::DocumentSigner => Signer::ALL.iter().for_each(|s| {
            out.push(with(&|c| {
                c.documents
                    .iter_mut()
                    .flatten()
                    .for_each(|d| d.signed_by = d.signed_by.or(Some(*s)))
            }))
        }),
        F::DocumentCriminal => bools.iter().for_each(|b| {
            out.push(with(&|c| {
                c.documents
                    .iter_mut()
                    .flatten()
                    .for_each(|d| d.criminal = d.criminal.or(Some(*b)))
            }))
        }),
        F::DocumentVerified => bools.iter().for_each(|b| {
            out.push(with(&|c| {
                c.documents
                    .iter_mut()
                    .flatten()
                    .for_each(|d| d.verified = d.verified.or(Some(*b)))
            }))
        }),
        F::Consent => Consent::ALL
            .iter()
            .for_each(|v| out.push(with(&|c| c.subject.consent = Some(*v)))),
        F::InCustody => bools
            .iter()
            .for_each(|b| out.push(with(&|c| c.subject.in_custody = Some(*b)))),
        F::Minor => bools
            .iter()
            .for_each(|b| out.push(with(&|c| c.subject.minor = Some(*b)))),
        F::ViolentOrSeriousConviction => bools.iter().for_each(|b| {
            out.push(with(&|c| {
                c.subject.violent_or_serious_conviction_within_5_years = Some(*b)
            }))
        }),
        F::CrimeVictim => bools
            .iter()
            .for_each(|b| out.push(with(&|c| c.subject.crime_victim = Some(*b)))),
        F::InRemovalProceedings => bools
            .iter()
            .for_each(|b| out.push(with(&|c| c.subject.in_removal_proceedings = Some(*b)))),
        F::Bulk => bools
            .iter()
            .for_each(|b| out.push(with(&|c| c.bulk = Some(*b)))),
    }
    out
}

#[test]
fn answering_a_question_never_asks_it_again() {
    let rules = rules();
    let mut rng = Rng(17);
    let mut asked = 0;
    for _ in 0..20_000 {
        let r = request(&mut rng);
        let Ok(a) = rules.decide(&r, today()) else {
            continue;
        };
        if a.basis != Basis::MissingFacts {
            continue;
        }
        assert!(
            !a.questions.is_empty(),
            "refer for missing facts without a question: {r:?}"
        );
        for q in &a.questions {
            for answered in answers(&r, q.fact) {
                let b = rules
                    .decide(&answered, today())
                    .unwrap_or_else(|e| panic!("{e}"));
                asked += 1;
                assert!(
                    !(b.basis == Basis::MissingFacts
                        && b.questions.iter().any(|x| x.fact == q.fact)),
                    "answering {:?} asked it again: {answered:?}",
                    q.fact
                );
            }
        }
    }
    assert!(asked > 1000, "only {asked} answers tried");
}

#[test]
fn the_engine_never_complies_on_nothing() {
    // With no provision applicable the answer is refer: no comply by default.
    let rules = rules();
    let mut rng = Rng(19);
    for _ in 0..20_000 {
        let r = request(&mut rng);
        if let Ok(a) = rules.decide(&r, today()) {
            if a.outcome == Outcome::Comply {
                assert!(!a.deciding.is_empty(), "{r:?}");
                assert!(
                    a.deciding
                        .iter()
                        .any(|p| p.confidence != citygate_engine::Confidence::Memory),
                    "comply on [MEMORY] only: {r:?}"
                );
            }
            if a.basis == Basis::NothingApplies {
                assert_eq!(a.outcome, Outcome::Refer);
            }
        }
    }
}
