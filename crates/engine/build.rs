//! Embeds every rule pack and scenario table under `rules/` in the library, so
//! the binary runs anywhere with the law it was built with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.join("../..");
    let rules = root.join("rules");
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut files = Vec::new();
    toml_files(&rules, &mut files);
    files.sort();
    let mut code = String::from("&[\n");
    for f in &files {
        // Directories also need rerun-if-changed entries for added files.
        if let Some(parent) = f.parent() {
            println!("cargo:rerun-if-changed={}", parent.display());
        }
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(&root).unwrap_or(f);
        let rel = rel.to_string_lossy().replace('\\', "/");
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        let _ = writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            abs.to_string_lossy()
        );
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded_rules.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
