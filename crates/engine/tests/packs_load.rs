use citygate_engine::packs::embedded_packs;
use citygate_engine::RuleSet;

#[test]
fn embedded_packs_load() {
    let packs = embedded_packs();
    assert!(packs.len() >= 5, "packs found: {}", packs.len());
    if let Err(e) = RuleSet::load(&packs) {
        panic!("{e}");
    }
}
