//! OCR-tolerant normalisation of a document's text.
//!
//! Markers are matched on a *flat* form of the text: upper-case ASCII, one space
//! between words, lines joined (so a title broken over two lines still matches),
//! hyphenated line breaks rejoined, accents removed, and form numbers with the
//! usual OCR confusions (`I-2OO`, `1-247A`, `A0 442`) put back in canonical form.
//! Every position in the flat text maps back to a line of the original, so the
//! evidence can quote what was actually printed.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// How many lines at the top of a page may carry a caption.
const HEADING_LINES: usize = 10;

/// One line of the original text with its normalised form.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number in the file (page breaks do not restart it).
    pub number: usize,
    /// 1-based page number (pages are separated by form feeds).
    pub page: usize,
    /// The line as printed, trimmed.
    pub original: String,
    /// Upper-case ASCII, single spaces, canonical form numbers.
    pub norm: String,
    /// `norm` without the punctuation OCR scatters ("UNITED“ STATES DISTRICT. COURT"):
    /// what markers are matched on.
    pub words: String,
}

/// A document's text, ready for marker search.
#[derive(Debug, Clone)]
pub struct NormalizedText {
    /// Non-empty lines, in order.
    pub lines: Vec<Line>,
    /// All normalised lines joined by single spaces.
    pub flat: String,
    /// `line_starts[i]` is where `lines[i]` begins in `flat`.
    pub line_starts: Vec<usize>,
}

impl NormalizedText {
    /// Normalise `text` (form feeds separate pages).
    pub fn new(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut page = 1;
        for (index, raw) in text.split('\n').enumerate() {
            // A form feed at the start of a line opens that line's page (pdftotext);
            // one later in the line opens the next line's page.
            let leading = raw.chars().take_while(|c| *c == '\u{c}').count();
            page += leading;
            let page_breaks = raw.matches('\u{c}').count() - leading;
            let original = raw.replace('\u{c}', " ");
            let original = original.trim();
            if !original.is_empty() {
                lines.push(Line {
                    number: index + 1,
                    page,
                    original: original.to_string(),
                    words: String::new(),
                    norm: normalize_line(original),
                });
            }
            page += page_breaks;
        }
        for line in &mut lines {
            line.words = strip_punctuation(&line.norm);
        }
        let mut flat = String::with_capacity(text.len());
        let mut line_starts = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            // "IMMI-" + "GRATION": the hyphen is already gone from `words`.
            if i > 0 && !joins_hyphenated(&lines[i - 1].norm, &line.norm) {
                flat.push(' ');
            }
            line_starts.push(flat.len());
            flat.push_str(&line.words);
        }
        NormalizedText {
            lines,
            flat,
            line_starts,
        }
    }

    /// Index into `lines` of the line that holds flat offset `offset`.
    pub fn line_at(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// True when `offset` starts one of the first lines of its page: where a
    /// caption is printed, as opposed to a court named in running text.
    pub fn is_heading(&self, offset: usize) -> bool {
        let i = self.line_at(offset);
        let page = self.lines.get(i).map_or(0, |l| l.page);
        let rank = self.lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.page == page)
            .count();
        rank < HEADING_LINES && self.starts_line(offset)
    }

    /// True when `offset` is the start of a line, or follows only "IN THE" there.
    pub fn starts_line(&self, offset: usize) -> bool {
        let i = self.line_at(offset);
        let start = self.line_starts.get(i).copied().unwrap_or(0);
        let before = self.flat.get(start..offset).unwrap_or("").trim();
        let before = before
            .strip_suffix("IN THE")
            .or_else(|| before.strip_suffix("FOR THE"))
            .unwrap_or(before);
        // OCR leaves specks before a caption ("- IN THE", "ae UNITED STATES").
        let specks: Vec<&str> = before.split_whitespace().collect();
        specks.len() <= 2 && specks.iter().all(|w| w.len() <= 2)
    }
}

/// Keep letters, digits and the signs citations need (§ $ ( ) / - #), a `.`
/// or `:` only between digits (287.7, 1:26-mj-1); drop quotes and apostrophes;
/// turn anything else into a space.
pub fn strip_punctuation(norm: &str) -> String {
    let mut out = String::with_capacity(norm.len());
    let mut previous = ' ';
    let mut chars = norm.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied().unwrap_or(' ');
        let keep = match c {
            c if c.is_ascii_alphanumeric() => true,
            '§' | '$' | '(' | ')' | '/' | '#' => true,
            '-' => previous.is_ascii_alphanumeric() && next.is_ascii_alphanumeric(),
            '.' => previous.is_ascii_digit() && next.is_ascii_digit(),
            ':' => previous.is_ascii_digit(),
            _ => false,
        };
        if keep {
            out.push(c);
        } else if !matches!(c, '\'' | '"') && !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        previous = c;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// A word broken with a hyphen at the end of a line ("IMMI-" / "GRATION").
fn joins_hyphenated(previous: &str, next: &str) -> bool {
    let Some(stem) = previous.strip_suffix('-') else {
        return false;
    };
    let tail_letters = stem
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    tail_letters >= 2 && next.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// Upper-case ASCII with single spaces and canonical form numbers.
pub fn normalize_line(line: &str) -> String {
    let line = fix_ocr_words(line);
    let mut out = String::with_capacity(line.len());
    let mut last_space = true;
    for c in line.chars() {
        let mapped = fold_char(c);
        if mapped == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(mapped);
            last_space = false;
        }
    }
    let trimmed = out.trim_end();
    canonical_form_numbers(trimmed)
}

/// Digits and lower-case letters misread inside words: `ACTI0N`, `0F`,
/// `PR1ORITY`, `SECURlTY`. Only words made of letters plus `0`/`1` (at least
/// as many letters as digits) are touched, so numbers and form ids are not.
fn fix_ocr_words(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.bytes().any(|b| matches!(b, b'0' | b'1' | b'l')) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut word_start = None;
    for (i, c) in line
        .char_indices()
        .chain(std::iter::once((line.len(), ' ')))
    {
        if c.is_alphanumeric() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take() {
            let word = &line[start..i];
            if word.bytes().any(|b| matches!(b, b'0' | b'1' | b'l')) {
                out.push_str(&fix_word(word));
            } else {
                out.push_str(word);
            }
        }
        if i < line.len() {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn fix_word(word: &str) -> String {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let confusable = word.chars().filter(|c| matches!(c, '0' | '1')).count();
    let only_confusable_digits = word
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '0' | '1'));
    let upper_with_l = word.contains('l')
        && word
            .chars()
            .filter(|c| c.is_alphabetic() && *c != 'l')
            .count()
            >= 2
        && word
            .chars()
            .all(|c| c == 'l' || c.is_uppercase() || matches!(c, '0' | '1'));
    // "lmmigration", "lnformation": no English word starts "lm", "ln", "ld", "lt".
    let mut chars = word.chars();
    if let (Some('l'), Some(second)) = (chars.next(), chars.next()) {
        if matches!(
            second,
            'm' | 'n' | 'd' | 't' | 's' | 'M' | 'N' | 'D' | 'T' | 'S'
        ) {
            return format!("I{}", &word[1..]);
        }
    }
    let digits_in_word =
        only_confusable_digits && letters >= 1 && letters >= confusable && confusable > 0;
    if !digits_in_word && !upper_with_l {
        return word.to_string();
    }
    word.chars()
        .map(|c| match c {
            '0' => 'O',
            '1' | 'l' if upper_with_l || c == '1' => 'I',
            c => c,
        })
        .collect()
}

/// Accents off, dashes and quotes plain, letters upper-case.
fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' | 'Ç' => 'C',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' | 'Ñ' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' | 'Ý' => 'Y',
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => '-',
        '‘' | '’' | '`' | '´' => '\'',
        '“' | '”' => '"',
        '☐' | '☒' | '■' | '□' | '●' | '•' => ' ',
        c if c.is_whitespace() => ' ',
        c => c.to_ascii_uppercase(),
    }
}

/// DHS form numbers as OCR mangles them: a leading `I` read as `1`, `L` or `|`,
/// digits read as `O`, `I`, `S`, `Z`, `B`. Rewritten only when the result is a
/// known form, so ordinary words and phone numbers are left alone.
static DHS_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^A-Z0-9])([I1L|])( ?[-~] ?|)([0-9OQDILSZB]{3})([ADNX])?(?-u:\b)")
        .expect("static regex")
});

static AO_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)A[O0QD] ?-? ?(442|93|109|110|88B|88|89)(?-u:\b)").expect("static regex")
});

/// DHS form numbers the classifier knows.
pub const KNOWN_DHS_FORMS: &[&str] = &["200", "203", "205", "213", "247", "286", "862", "138"];

fn canonical_form_numbers(line: &str) -> String {
    // Every form number has a digit; most lines have none, and skip both regexes.
    if !line.bytes().any(|b| b.is_ascii_digit()) {
        return line.to_string();
    }
    let line = DHS_FORM.replace_all(line, |caps: &Captures| {
        let whole = caps[0].to_string();
        let before = &caps[1];
        let letter = &caps[2];
        let dash = &caps[3];
        let raw = &caps[4];
        let real_digits = raw.chars().filter(char::is_ascii_digit).count();
        // Without a dash, demand real digits so that words such as "ISO" stay
        // words, and never read "1200" (an address) as a form.
        if real_digits == 0 || (dash.is_empty() && (real_digits < 2 || letter == "1")) {
            return whole;
        }
        let digits: String = raw.chars().map(ocr_digit).collect();
        if !KNOWN_DHS_FORMS.contains(&digits.as_str()) {
            return whole;
        }
        let suffix = caps.get(5).map(|m| m.as_str()).unwrap_or("");
        if !suffix.is_empty() && digits != "247" {
            return whole;
        }
        format!("{before}I-{digits}{suffix}")
    });
    AO_FORM.replace_all(&line, "AO $1").into_owned()
}

fn ocr_digit(c: char) -> char {
    match c {
        'O' | 'Q' | 'D' => '0',
        'I' | 'L' => '1',
        'S' => '5',
        'Z' => '2',
        'B' => '8',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocr_form_numbers_become_canonical() {
        assert_eq!(
            normalize_line("Form I-2OO (Rev. 09/16)"),
            "FORM I-200 (REV. 09/16)"
        );
        assert_eq!(
            normalize_line("DHS Form 1-247A (02/17)"),
            "DHS FORM I-247A (02/17)"
        );
        assert_eq!(normalize_line("l-2O5"), "I-205");
        assert_eq!(normalize_line("|-286"), "I-286");
        assert_eq!(normalize_line("A0 442 (Rev. 11/11)"), "AO 442 (REV. 11/11)");
        // Unknown numbers and words stay as printed.
        assert_eq!(normalize_line("call 1-800-555-0100"), "CALL 1-800-555-0100");
        assert_eq!(normalize_line("ISO standard"), "ISO STANDARD");
        assert_eq!(normalize_line("1200 W. Harrison"), "1200 W. HARRISON");
        assert_eq!(
            normalize_line("N0TICE 0F ACTI0N, SECURlTY PR1ORITY"),
            "NOTICE OF ACTION, SECURITY PRIORITY"
        );
        assert_eq!(
            normalize_line("Case No. 1:25-mj-00412"),
            "CASE NO. 1:25-MJ-00412"
        );
    }

    #[test]
    fn accents_case_and_spaces_are_folded() {
        assert_eq!(
            normalize_line("Autorización   para  divulgar"),
            "AUTORIZACION PARA DIVULGAR"
        );
        assert_eq!(
            normalize_line("Immigration Detainer – Notice"),
            "IMMIGRATION DETAINER - NOTICE"
        );
    }

    #[test]
    fn broken_lines_are_joined_and_mapped_back() {
        let text = NormalizedText::new("WARRANT FOR ARREST\n\nOF ALIEN\nImmi-\ngration officer");
        assert!(text.flat.contains("WARRANT FOR ARREST OF ALIEN"));
        assert!(text.flat.contains("IMMIGRATION OFFICER"));
        let at = text.flat.find("OF ALIEN").unwrap_or(0);
        assert_eq!(text.lines[text.line_at(at)].number, 3);
    }

    #[test]
    fn stray_punctuation_is_dropped_for_matching() {
        assert_eq!(
            strip_punctuation("UNITED\" STATES DISTRICT. COURT."),
            "UNITED STATES DISTRICT COURT"
        );
        assert_eq!(
            strip_punctuation("8 C.F.R. 287.7; CASE NO.: 1:26-MJ-00412"),
            "8 C F R 287.7 CASE NO 1:26-MJ-00412"
        );
        assert_eq!(
            strip_punctuation("ATTORNEY'S SIGNATURE"),
            "ATTORNEYS SIGNATURE"
        );
        assert_eq!(
            strip_punctuation("DISTRICT -COURT I-247A 1: 26-MJ-1"),
            "DISTRICT COURT I-247A 1: 26-MJ-1"
        );
    }

    #[test]
    fn form_feeds_count_pages() {
        let text = NormalizedText::new("page one\n\u{c}page two");
        assert_eq!(text.lines[1].page, 2);
        assert_eq!(text.lines[1].original, "page two");
    }
}
