//! Verifier trust configuration in the C2SP tlog-policy format (after Sigsum's policy file):
//!
//! ```text
//! log <vkey> [url]
//! witness <name> <vkey> [url]
//! group <name> <k|any|all> <member>...
//! quorum <name|none>
//! ```
//! Blank lines and `#` comments are ignored; members must be defined before a group names
//! them, so groups cannot form cycles.

use std::collections::{HashMap, HashSet};

use crate::checkpoint::{
    verify_checkpoint, CheckpointError, CheckpointPolicy, Policy, VerifiedCheckpoint,
};

/// A policy file that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("policy line {line}: {message}")]
pub struct PolicyError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

enum Member {
    Witness {
        name: String,
        id: u32,
    },
    Group {
        threshold: usize,
        members: Vec<String>,
    },
}

/// A parsed tlog-policy: trusted log keys, named witnesses and groups, and the quorum.
pub struct TrustPolicy {
    logs: Vec<String>,
    witness_keys: Vec<String>,
    members: HashMap<String, Member>,
    quorum: Option<String>,
}

fn key_name_and_id(vkey: &str) -> Option<(String, u32)> {
    let mut parts = vkey.splitn(3, '+');
    let name = parts.next()?;
    let id = u32::from_str_radix(parts.next()?, 16).ok()?;
    parts.next()?;
    Some((name.to_owned(), id))
}

impl TrustPolicy {
    /// Parses policy text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let mut policy = TrustPolicy {
            logs: vec![],
            witness_keys: vec![],
            members: HashMap::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let err = |message: &str| PolicyError {
                line: i + 1,
                message: message.to_owned(),
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                ["log", vkey] | ["log", vkey, _] => {
                    key_name_and_id(vkey)
                        .ok_or_else(|| err("`log` needs a verifier key <name>+<id>+<key>"))?;
                    policy.logs.push((*vkey).to_owned());
                }
                ["witness", name, vkey] | ["witness", name, vkey, _] => {
                    policy.define(name, &err)?;
                    let (key_name, id) = key_name_and_id(vkey).ok_or_else(|| {
                        err("`witness` needs a name and a verifier key <name>+<id>+<key>")
                    })?;
                    policy.witness_keys.push((*vkey).to_owned());
                    policy
                        .members
                        .insert((*name).to_owned(), Member::Witness { name: key_name, id });
                }
                ["group", name, threshold, members @ ..] if !members.is_empty() => {
                    policy.define(name, &err)?;
                    for m in members {
                        if !policy.members.contains_key(*m) {
                            return Err(err(&format!("group member `{m}` is not defined above")));
                        }
                    }
                    let threshold = match *threshold {
                        "any" => 1,
                        "all" => members.len(),
                        k => k
                            .parse::<usize>()
                            .ok()
                            .filter(|k| (1..=members.len()).contains(k))
                            .ok_or_else(|| {
                                err("group threshold must be `any`, `all` or 1..=number of members")
                            })?,
                    };
                    policy.members.insert(
                        (*name).to_owned(),
                        Member::Group {
                            threshold,
                            members: members.iter().map(|m| (*m).to_owned()).collect(),
                        },
                    );
                }
                ["quorum", name] => {
                    if quorum_seen {
                        return Err(err("only one `quorum` line is allowed"));
                    }
                    quorum_seen = true;
                    if *name != "none" {
                        if !policy.members.contains_key(*name) {
                            return Err(err(&format!(
                                "quorum `{name}` is not a witness or group defined above"
                            )));
                        }
                        policy.quorum = Some((*name).to_owned());
                    }
                }
                _ => {
                    return Err(err(
                        "expected `log`, `witness`, `group` or `quorum` with their fields",
                    ))
                }
            }
        }
        if policy.logs.is_empty() {
            return Err(PolicyError {
                line: 0,
                message: "no `log` line".into(),
            });
        }
        if !quorum_seen {
            return Err(PolicyError {
                line: 0,
                message: "no `quorum` line (use `quorum none` for none)".into(),
            });
        }
        Ok(policy)
    }

    fn define(&self, name: &str, err: &dyn Fn(&str) -> PolicyError) -> Result<(), PolicyError> {
        if name == "none" || self.members.contains_key(name) {
            return Err(err(&format!(
                "name `{name}` is reserved or already defined"
            )));
        }
        Ok(())
    }

    fn satisfied(&self, name: &str, cosigned: &HashSet<(String, u32)>) -> bool {
        match self.members.get(name) {
            Some(Member::Witness { name, id }) => cosigned.contains(&(name.clone(), *id)),
            Some(Member::Group { threshold, members }) => {
                members
                    .iter()
                    .filter(|m| self.satisfied(m, cosigned))
                    .count()
                    >= *threshold
            }
            None => false,
        }
    }
}

impl CheckpointPolicy for TrustPolicy {
    fn check(&self, note: &[u8]) -> Result<VerifiedCheckpoint, CheckpointError> {
        let mut last_error = None;
        for log in &self.logs {
            let simple = Policy {
                log_key: log.clone(),
                witnesses: self.witness_keys.clone(),
                quorum: 0,
            };
            match verify_checkpoint(note, &simple) {
                Ok(cp) => {
                    let cosigned: HashSet<(String, u32)> =
                        cp.witness_keys.iter().cloned().collect();
                    if let Some(q) = &self.quorum {
                        if !self.satisfied(q, &cosigned) {
                            return Err(CheckpointError::PolicyQuorum(q.clone()));
                        }
                    }
                    return Ok(cp);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| CheckpointError::BadSignature("no log key".into())))
    }
}
