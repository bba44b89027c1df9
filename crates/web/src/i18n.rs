//! Staff interface text through Fluent, in English and Spanish. The law's own
//! text (excerpts, explanations from the packs) stays in English.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// From a cookie or query value; English by default.
    pub fn parse(value: Option<&str>) -> Lang {
        match value {
            Some("es") => Lang::Es,
            _ => Lang::En,
        }
    }

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Es,
            Lang::Es => Lang::En,
        }
    }
}

/// Both bundles, built once.
pub struct Texts {
    en: FluentBundle<FluentResource>,
    es: FluentBundle<FluentResource>,
}

fn bundle(tag: &str, source: &str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation marks around arguments confuse screen readers and copy-paste.
    bundle.set_use_isolating(false);
    // The files are ours and checked by a test, so a bad entry is skipped, not fatal.
    let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, _)| r);
    let _ = bundle.add_resource(resource);
    bundle
}

impl Default for Texts {
    fn default() -> Self {
        Texts {
            en: bundle("en", include_str!("../i18n/en.ftl")),
            es: bundle("es", include_str!("../i18n/es.ftl")),
        }
    }
}

impl Texts {
    /// The message `key` in `lang`, falling back to English, then to the key.
    pub fn get(&self, lang: Lang, key: &str) -> String {
        self.get_with(lang, key, None)
    }

    /// The message with arguments.
    pub fn get_with(&self, lang: Lang, key: &str, args: Option<&FluentArgs>) -> String {
        let primary = match lang {
            Lang::En => &self.en,
            Lang::Es => &self.es,
        };
        for b in [primary, &self.en] {
            if let Some(pattern) = b.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return b.format_pattern(pattern, args, &mut errors).into_owned();
            }
        }
        key.to_string()
    }

    /// Every message id of a language (for the completeness test).
    pub fn ids(source: &str) -> Vec<String> {
        source
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
            .filter(|k| !k.is_empty() && !k.starts_with('#'))
            .collect()
    }
}
