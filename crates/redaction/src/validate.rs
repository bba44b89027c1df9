//! Structural validators: checksums and range rules that confirm or reject a pattern match.
//! Each works on ASCII bytes and never panics on any input.

/// The ASCII digits of `s`, in order.
pub fn digits(s: &str) -> Vec<u8> {
    with_digits(s, <[u8]>::to_vec)
}

/// Calls `f` with the ASCII digits of `s` (values 0–9, in order), held on the stack when `s` is
/// short, as every pattern match is: collecting them into a `Vec` cost an allocation, a regrowth
/// and a free for each of the ~15,000 digit matches per 1.5 MB of reports.
pub fn with_digits<T>(s: &str, f: impl FnOnce(&[u8]) -> T) -> T {
    let mut stack = [0u8; 40];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if s.len() <= stack.len() {
        &mut stack
    } else {
        heap.resize(s.len(), 0);
        &mut heap
    };
    // Never more digits than bytes of `s`, and `buf` holds at least that many.
    let mut n = 0;
    for (slot, d) in buf.iter_mut().zip(s.bytes().filter(u8::is_ascii_digit)) {
        *slot = d - b'0';
        n += 1;
    }
    f(&buf[..n])
}

fn number(ds: &[u8]) -> u32 {
    ds.iter().fold(0u32, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u32::from(d))
    })
}

/// Separators between digit groups must all be the same (or absent): `123-45 6789` is not an SSN.
pub fn consistent_separators(s: &str) -> bool {
    let mut seps = s.bytes().filter(|b| !b.is_ascii_alphanumeric());
    match seps.next() {
        None => true,
        Some(first) => {
            seps.all(|b| b == first)
                && s.bytes().filter(|b| !b.is_ascii_alphanumeric()).count() == 2
        }
    }
}

/// SSA rules for an SSN: area not 000, 666 or 9xx; group not 00; serial not 0000; not a known
/// advertising/test number; not all one digit.
pub fn ssn(ds: &[u8]) -> bool {
    if ds.len() != 9 {
        return false;
    }
    let area = number(&ds[0..3]);
    let group = number(&ds[3..5]);
    let serial = number(&ds[5..9]);
    let all_same = ds.iter().all(|&d| d == ds[0]);
    let whole = number(ds);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !all_same
        && !matches!(whole, 123_456_789 | 78_051_120 | 219_099_999)
}

/// IRS ITIN ranges: starts with 9, group 50–65, 70–88, 90–92 or 94–99.
pub fn itin(ds: &[u8]) -> bool {
    if ds.len() != 9 || ds[0] != 9 {
        return false;
    }
    let group = number(&ds[3..5]);
    matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

/// Luhn checksum over 13–19 digits (payment cards).
pub fn luhn(ds: &[u8]) -> bool {
    if !(13..=19).contains(&ds.len()) || ds.iter().all(|&d| d == 0) {
        return false;
    }
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// ABA routing number: Federal Reserve prefix and the 3-7-1 weighted checksum.
pub fn aba_routing(ds: &[u8]) -> bool {
    if ds.len() != 9 {
        return false;
    }
    let prefix = number(&ds[0..2]);
    if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) || ds.iter().all(|&d| d == 0) {
        return false;
    }
    let w = [3u32, 7, 1];
    let sum: u32 = ds
        .iter()
        .enumerate()
        .map(|(i, &d)| w[i % 3] * u32::from(d))
        .sum();
    sum.is_multiple_of(10)
}

/// ICAO 9303 check digit over MRZ characters (weights 7, 3, 1; `<` is 0, A–Z are 10–35).
pub fn mrz_check_digit(field: &[u8]) -> Option<u8> {
    let weights = [7u32, 3, 1];
    let mut sum = 0u32;
    for (i, &c) in field.iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'<' => 0,
            _ => return None,
        };
        sum += v * weights[i % 3];
    }
    u8::try_from(sum % 10).ok()
}

/// True when `check` (an ASCII digit) is the MRZ check digit of `field`.
pub fn mrz_field_ok(field: &[u8], check: u8) -> bool {
    check.is_ascii_digit() && mrz_check_digit(field) == Some(check - b'0')
}

/// Second line of a TD3 (passport) MRZ, 44 characters: document number, birth date and expiry
/// check digits must all hold.
pub fn mrz_td3_line2(line: &[u8]) -> bool {
    line.len() == 44
        && mrz_field_ok(&line[0..9], line[9])
        && mrz_field_ok(&line[13..19], line[19])
        && mrz_field_ok(&line[21..27], line[27])
}

/// Illinois DL/ID `SSSS-FFFY-YDDD(D)`: Soundex letter + 3 digits 0–6, and a day-of-year code
/// `(month-1)*31 + day` (plus 600 for female) in 001–372 or 601–972.
pub fn illinois_dl(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if !first.is_ascii_alphabetic() {
        return false;
    }
    with_digits(s, |ds| {
        (11..=12).contains(&ds.len())
            && ds[0..3].iter().all(|&d| d <= 6)
            && matches!(number(&ds[8..11]), 1..=372 | 601..=972)
    })
}

/// USCIS service-centre prefixes of receipt numbers.
pub const RECEIPT_PREFIXES: [&str; 13] = [
    "EAC", "WAC", "LIN", "SRC", "NBC", "MSC", "IOE", "YSC", "PSC", "VSC", "CSC", "NSC", "TSC",
];

/// North American Numbering Plan: area code and exchange start with 2–9; not 555-01xx fiction.
pub fn nanp_phone(ds: &[u8]) -> bool {
    let ds = match ds.len() {
        10 => ds,
        11 if ds[0] == 1 => &ds[1..],
        _ => return false,
    };
    let exchange_fiction = number(&ds[3..6]) == 555 && number(&ds[6..8]) == 1;
    ds[0] >= 2 && ds[3] >= 2 && !(ds[1] == 1 && ds[2] == 1) && !exchange_fiction
}

/// A calendar date that can be a birth date: valid day for the month, year 1900–2030.
pub fn plausible_birth_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2030).contains(&year) && day >= 1 && day <= days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        assert_eq!(digits("a1-2 3\u{663}x45"), [1, 2, 3, 4, 5]);
        let long = "9-".repeat(100);
        assert_eq!(digits(&long), [9; 100]);
        assert_eq!(with_digits("", <[u8]>::len), 0);
        assert!(ssn(&digits("512-44-9012")));
        assert!(!ssn(&digits("000-44-9012")));
        assert!(!ssn(&digits("666-44-9012")));
        assert!(!ssn(&digits("912-44-9012")));
        assert!(!ssn(&digits("512-00-9012")));
        assert!(!ssn(&digits("512-44-0000")));
        assert!(!ssn(&digits("123-45-6789")));
        assert!(!ssn(&digits("111-11-1111")));
        assert!(consistent_separators("512-44-9012"));
        assert!(!consistent_separators("512-44 9012"));
    }

    #[test]
    fn itin_ranges() {
        assert!(itin(&digits("912-70-1234")));
        assert!(itin(&digits("900-94-1234")));
        assert!(!itin(&digits("912-93-1234")));
        assert!(!itin(&digits("912-66-1234")));
        assert!(!itin(&digits("812-70-1234")));
    }

    #[test]
    fn luhn_cards() {
        assert!(luhn(&digits("4111 1111 1111 1111")));
        assert!(luhn(&digits("5500-0000-0000-0004")));
        assert!(!luhn(&digits("4111 1111 1111 1112")));
        assert!(!luhn(&digits("0000 0000 0000 0000")));
    }

    #[test]
    fn aba_checksum() {
        assert!(aba_routing(&digits("071000013"))); // JPMorgan Chase, Chicago
        assert!(aba_routing(&digits("021000021")));
        assert!(!aba_routing(&digits("071000014")));
        assert!(!aba_routing(&digits("991000013")));
    }

    #[test]
    fn mrz_specimen() {
        // ICAO 9303 part 4 specimen (Utopia).
        assert!(mrz_td3_line2(
            b"L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        ));
        assert!(!mrz_td3_line2(
            b"L898902C37UTO7408122F1204159ZE184226B<<<<<10"
        ));
        assert!(!mrz_td3_line2(b"short"));
    }

    #[test]
    fn illinois_dl_structure() {
        assert!(illinois_dl("S530-4128-1234")); // day code 234
        assert!(illinois_dl("S53041281650")); // 650: female, Jan 19
        assert!(!illinois_dl("S530-4128-1400")); // 400 not a day code
        assert!(!illinois_dl("S930-4128-1234")); // 9 is not a Soundex digit
        assert!(!illinois_dl("1530-4128-1234"));
    }

    #[test]
    fn phones() {
        assert!(nanp_phone(&digits("(312) 555-2368")));
        assert!(nanp_phone(&digits("+1 773 456 7890")));
        assert!(!nanp_phone(&digits("112 456 7890")));
        assert!(!nanp_phone(&digits("312 055 7890")));
        assert!(!nanp_phone(&digits("312 555 0123")));
    }

    #[test]
    fn birth_dates() {
        assert!(plausible_birth_date(2000, 2, 29));
        assert!(!plausible_birth_date(1900, 2, 29));
        assert!(!plausible_birth_date(1985, 13, 1));
        assert!(!plausible_birth_date(1885, 1, 1));
    }
}
