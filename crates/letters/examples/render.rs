//! Writes one letter, typeset on the sample data, to a file: for looking at a
//! template while editing it.
//!
//! `cargo run -p citygate-letters --example render -- KIND LANG OUT.pdf [TEMPLATE.typ]`
//! (KIND: declination, acknowledgment, referral, disclosure; LANG: en, es)

use std::process::ExitCode;

use citygate_letters::{default_template, render_pdf, Lang, LetterData, LetterKind};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(lang), Some(out)) = (
        args.first().and_then(|k| LetterKind::parse(k)),
        args.get(1).and_then(|l| Lang::parse(l)),
        args.get(2),
    ) else {
        eprintln!("usage: render KIND LANG OUT.pdf [TEMPLATE.typ]");
        return ExitCode::from(2);
    };
    let template = match args.get(3) {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => default_template(kind, lang).to_owned(),
    };
    match render_pdf(&template, &LetterData::sample(kind, lang)) {
        Ok(pdf) => match std::fs::write(out, pdf) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{out}: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
