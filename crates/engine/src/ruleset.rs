//! A validated set of rule packs, with each jurisdiction's chain of packs and the
//! exception edges (declared and generated) between its provisions.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::pack::{line_of, parse_pack, LoadError, Loaded, PackHeader, Provision};
use crate::vocab::{Jurisdiction, Level};

/// Why one provision defeats another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum EdgeReason {
    /// Written in the pack (`exception_to`).
    Declared,
    /// Generated from a higher level's `prevails`, with its reason.
    Generated(String),
}

/// An exception edge: `exception` defeats `base` whenever it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Provision index of the exception.
    pub exception: usize,
    /// Provision index of the provision it defeats.
    pub base: usize,
    /// Why.
    pub reason: EdgeReason,
}

/// The packs that bind one jurisdiction, and the edges among their provisions.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The pack names, highest level first.
    pub packs: Vec<&'static str>,
    /// Provision indices (into [`RuleSet::provisions`]), exceptions before the
    /// provisions they defeat, so one pass evaluates the defeat relation.
    pub(crate) order: Vec<usize>,
    /// For each position in `order`: positions (in `order`) of its direct exceptions.
    pub(crate) defeaters: Vec<Vec<usize>>,
    /// Every edge, for explanations and `rules show`.
    pub edges: Vec<Edge>,
    /// For each edge: (position of its base, position of its exception) in `order`.
    pub(crate) edge_positions: Vec<(usize, usize)>,
    /// First day the chain's packs cover.
    pub earliest: Option<NaiveDate>,
}

impl Chain {
    /// Positions (in `order`) of `seeds` and of their whole exception subtrees,
    /// sorted: exceptions before the provisions they defeat.
    pub(crate) fn with_exceptions(&self, seeds: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut stack: Vec<usize> = seeds.to_vec();
        while let Some(k) = stack.pop() {
            if !out.contains(&k) {
                out.push(k);
                stack.extend(self.defeaters[k].iter().copied());
            }
        }
        out.sort_unstable();
        out
    }
}

/// The most provisions one chain may hold; the engine keeps its per-decision
/// state on the stack.
pub const MAX_CHAIN: usize = 512;

/// One pack file's text, as loaded from disk or embedded.
#[derive(Debug, Clone)]
pub struct PackText {
    /// Pack name: `federal` or a jurisdiction name (the folder under `rules/`).
    pub pack: String,
    /// Display path for error messages, e.g. `rules/chicago/wco.toml`.
    pub file: String,
    /// The TOML text.
    pub text: String,
}

/// All provisions of all packs, validated, with a chain per jurisdiction.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Every provision, sorted by id (so load order never matters).
    pub provisions: Vec<Provision>,
    pub(crate) by_id: HashMap<String, usize>,
    /// One chain per jurisdiction, in [`Jurisdiction::ALL`] order.
    pub(crate) chains: Vec<Chain>,
    /// Each pack file's header, by file.
    pub headers: BTreeMap<String, PackHeader>,
    /// SHA-256 over the packs' files, sorted by path: names the law an answer used.
    pub hash: String,
    /// Every retention rule, sorted by id.
    pub retention: Vec<crate::retention::RetentionRule>,
}

/// The packs binding a jurisdiction, highest level first.
pub fn chain_packs(j: Jurisdiction) -> &'static [&'static str] {
    match j {
        Jurisdiction::Chicago => &["federal", "illinois", "chicago"],
        Jurisdiction::CookCounty => &["federal", "illinois", "cook-county"],
        Jurisdiction::Illinois => &["federal", "illinois"],
        Jurisdiction::NewYorkCity => &["federal", "new-york-city"],
        Jurisdiction::California => &["federal", "california"],
        Jurisdiction::SanFrancisco => &["federal", "california", "san-francisco"],
    }
}

/// Precedence rank of a level: federal 0 (highest) to executive 4.
pub fn level_rank(l: Level) -> u8 {
    match l {
        Level::Federal => 0,
        Level::State => 1,
        Level::County => 2,
        Level::City => 3,
        Level::Executive => 4,
    }
}

impl RuleSet {
    /// Load and validate packs. The result does not depend on the order of `packs`.
    pub fn load(packs: &[PackText]) -> Result<RuleSet, LoadError> {
        let mut sorted: Vec<&PackText> = packs.iter().collect();
        sorted.sort_by(|a, b| a.file.cmp(&b.file));
        let known_packs: Vec<&str> = Jurisdiction::ALL
            .iter()
            .flat_map(|j| chain_packs(*j).iter().copied())
            .collect();
        let mut hasher = Sha256::new();
        let mut loaded: Vec<Loaded> = Vec::new();
        let mut headers: BTreeMap<String, PackHeader> = BTreeMap::new();
        let mut retention: Vec<crate::retention::RetentionRule> = Vec::new();
        for (i, p) in sorted.iter().enumerate() {
            if !known_packs.contains(&p.pack.as_str()) {
                return Err(LoadError {
                    file: p.file.clone(),
                    line: 1,
                    message: format!(
                        "unknown pack folder `{}`; allowed: federal, {}",
                        p.pack,
                        Jurisdiction::ALL
                            .iter()
                            .map(|j| j.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            hasher.update(p.file.as_bytes());
            hasher.update([0]);
            hasher.update(p.text.as_bytes());
            hasher.update([0]);
            let parsed = parse_pack(&p.pack, &p.file, &p.text, i)?;
            headers.insert(p.file.clone(), parsed.header);
            loaded.extend(parsed.provisions);
            retention.extend(parsed.retention);
        }
        loaded.sort_by(|a, b| a.provision.id.cmp(&b.provision.id));
        retention.sort_by(|a, b| a.id.cmp(&b.id));
        let mut by_id = HashMap::new();
        for (i, l) in loaded.iter().enumerate() {
            if let Some(prev) = by_id.insert(l.provision.id.clone(), i) {
                let first = &loaded[prev].provision;
                return Err(LoadError {
                    file: l.provision.file.clone(),
                    line: l.provision.line,
                    message: format!(
                        "duplicate provision id `{}` (first at {}:{})",
                        l.provision.id, first.file, first.line
                    ),
                });
            }
        }
        check_exception_targets(&loaded, &by_id, &sorted)?;
        check_retention_ids(&retention, &loaded, &by_id)?;
        let provisions: Vec<Provision> = loaded.into_iter().map(|l| l.provision).collect();
        let mut chains = Vec::with_capacity(Jurisdiction::ALL.len());
        for j in Jurisdiction::ALL {
            let earliest = headers
                .iter()
                .filter(|(file, _)| {
                    packs
                        .iter()
                        .any(|p| &p.file == *file && chain_packs(*j).contains(&p.pack.as_str()))
                })
                .map(|(_, h)| h.covers_from)
                .min();
            chains.push(build_chain(*j, &provisions, &by_id, earliest)?);
        }
        Ok(RuleSet {
            provisions,
            by_id,
            chains,
            headers,
            hash: hex(&hasher.finalize()),
            retention,
        })
    }

    /// The provision with this id.
    pub fn provision(&self, id: &str) -> Option<&Provision> {
        self.by_id.get(id).map(|i| &self.provisions[*i])
    }

    /// The chain of a jurisdiction.
    pub fn chain(&self, j: Jurisdiction) -> &Chain {
        // `load` builds one chain per jurisdiction, in `Jurisdiction::ALL` order.
        &self.chains[j.index() as usize]
    }
}

/// Retention rules share the provisions' id namespace: an id names one thing in reviews
/// and in the ledger.
fn check_retention_ids(
    retention: &[crate::retention::RetentionRule],
    loaded: &[Loaded],
    by_id: &HashMap<String, usize>,
) -> Result<(), LoadError> {
    for (i, rule) in retention.iter().enumerate() {
        let first = by_id
            .get(&rule.id)
            .map(|p| (&loaded[*p].provision.file, loaded[*p].provision.line))
            .or_else(|| {
                retention[..i]
                    .iter()
                    .find(|r| r.id == rule.id)
                    .map(|r| (&r.file, r.line))
            });
        if let Some((file, line)) = first {
            return Err(LoadError {
                file: rule.file.clone(),
                line: rule.line,
                message: format!("duplicate id `{}` (first at {file}:{line})", rule.id),
            });
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_exception_targets(
    loaded: &[Loaded],
    by_id: &HashMap<String, usize>,
    texts: &[&PackText],
) -> Result<(), LoadError> {
    for l in loaded {
        for (target, span) in l.provision.exception_to.iter().zip(&l.exception_spans) {
            let text = &texts[l.text_index].text;
            let err = |message: String| LoadError {
                file: l.provision.file.clone(),
                line: line_of(text, span.start),
                message,
            };
            match by_id.get(target) {
                None => {
                    return Err(err(format!(
                        "provision `{}` is an exception to `{target}`, which does not exist",
                        l.provision.id
                    )))
                }
                Some(t) if loaded[*t].provision.outcome == l.provision.outcome => {
                    return Err(err(format!(
                        "provision `{}` is an exception to `{target}` but has the same outcome: an exception must change the answer",
                        l.provision.id
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn build_chain(
    j: Jurisdiction,
    provisions: &[Provision],
    by_id: &HashMap<String, usize>,
    earliest: Option<NaiveDate>,
) -> Result<Chain, LoadError> {
    let packs = chain_packs(j);
    let members: Vec<usize> = (0..provisions.len())
        .filter(|i| packs.contains(&provisions[*i].pack.as_str()))
        .collect();
    if members.len() > MAX_CHAIN {
        let p = &provisions[members[MAX_CHAIN]];
        return Err(LoadError {
            file: p.file.clone(),
            line: p.line,
            message: format!("jurisdiction `{j}` has more than {MAX_CHAIN} provisions"),
        });
    }
    let mut edges = Vec::new();
    for &e in &members {
        let p = &provisions[e];
        for target in &p.exception_to {
            if let Some(&b) = by_id.get(target) {
                if members.contains(&b) {
                    edges.push(Edge {
                        exception: e,
                        base: b,
                        reason: EdgeReason::Declared,
                    });
                }
            }
        }
        if let Some(prevails) = &p.prevails {
            for &b in &members {
                let q = &provisions[b];
                let lower = level_rank(q.level) > level_rank(p.level);
                let overlaps = q.compiled.act_mask() & p.compiled.act_mask() != 0;
                let declared = edges.iter().any(|x| x.exception == e && x.base == b);
                if lower && overlaps && !declared && prevails.over.contains(&q.outcome) {
                    edges.push(Edge {
                        exception: e,
                        base: b,
                        reason: EdgeReason::Generated(prevails.reason.clone()),
                    });
                }
            }
        }
    }
    let order = topo_order(&members, &edges, provisions)?;
    let pos: HashMap<usize, usize> = order.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let mut defeaters = vec![Vec::new(); order.len()];
    let mut edge_positions = Vec::with_capacity(edges.len());
    for e in &edges {
        defeaters[pos[&e.base]].push(pos[&e.exception]);
        edge_positions.push((pos[&e.base], pos[&e.exception]));
    }
    Ok(Chain {
        packs: packs.to_vec(),
        order,
        defeaters,
        edges,
        edge_positions,
        earliest,
    })
}

/// Exceptions first; a cycle of exceptions is a load error.
fn topo_order(
    members: &[usize],
    edges: &[Edge],
    provisions: &[Provision],
) -> Result<Vec<usize>, LoadError> {
    // Kahn's algorithm on "exception before base", members in id order for determinism.
    let mut pending: HashMap<usize, usize> = members.iter().map(|m| (*m, 0)).collect();
    for e in edges {
        *pending.entry(e.base).or_default() += 1;
    }
    let mut ready: Vec<usize> = members
        .iter()
        .copied()
        .filter(|m| pending[m] == 0)
        .collect();
    ready.reverse();
    let mut order = Vec::with_capacity(members.len());
    while let Some(n) = ready.pop() {
        order.push(n);
        for e in edges.iter().filter(|e| e.exception == n) {
            let c = pending.entry(e.base).or_default();
            *c -= 1;
            if *c == 0 {
                ready.push(e.base);
            }
        }
    }
    if order.len() != members.len() {
        let stuck = members
            .iter()
            .find(|m| !order.contains(m))
            .map(|m| &provisions[*m]);
        return Err(LoadError {
            file: stuck.map_or_else(String::new, |p| p.file.clone()),
            line: stuck.map_or(1, |p| p.line),
            message: format!(
                "exceptions form a cycle through `{}`",
                stuck.map_or("?", |p| p.id.as_str())
            ),
        });
    }
    Ok(order)
}
