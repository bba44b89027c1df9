//! The rule packs and scenario tables shipped with citygate, embedded at compile
//! time from `rules/` (see `build.rs`).

use crate::ruleset::PackText;

/// (path relative to the repository, text) of every TOML file under `rules/`.
pub const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// Folder under `rules/` that holds scenario tables rather than packs.
pub const SCENARIO_DIR: &str = "scenarios";

/// Split `rules/<pack>/<file>.toml` into its pack name, unless it is a scenario table.
pub fn pack_of(path: &str) -> Option<&str> {
    let mut parts = path.trim_start_matches("rules/").split('/');
    let pack = parts.next()?;
    parts.next()?;
    (pack != SCENARIO_DIR).then_some(pack)
}

/// The embedded packs.
pub fn embedded_packs() -> Vec<PackText> {
    EMBEDDED
        .iter()
        .filter_map(|(path, text)| {
            pack_of(path).map(|pack| PackText {
                pack: pack.to_string(),
                file: path.to_string(),
                text: text.to_string(),
            })
        })
        .collect()
}

/// The embedded scenario tables: (path, text).
pub fn embedded_scenarios() -> Vec<(&'static str, &'static str)> {
    EMBEDDED
        .iter()
        .filter(|(path, _)| pack_of(path).is_none())
        .copied()
        .collect()
}
