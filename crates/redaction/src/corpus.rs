//! A synthetic, labelled public-records corpus: arrest reports (mixed case and ALL CAPS, with
//! OCR-like noise), e-mails, Spanish narratives, booking-log and CityKey-export tables, and nested
//! JSON case records, with ground truth for every personal value. Deterministic for a seed.
//! All values are invented; validators' structure (SSN ranges, Luhn, ABA, MRZ, IL DL) is real.

use crate::entity::EntityKind;

/// SplitMix64: small, seedable, good enough for test data.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// A random element.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// A labelled span of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoldSpan {
    /// Byte offset.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
    /// Kind.
    pub kind: EntityKind,
}

/// One field (a text document, a cell, or a JSON leaf) with its ground truth.
#[derive(Debug, Clone)]
pub struct GoldField {
    /// Column header or JSON pointer (`/subject/name`); `None` for a text document.
    pub name: Option<String>,
    /// The text.
    pub text: String,
    /// Personal values in it.
    pub spans: Vec<GoldSpan>,
}

/// Document families (for reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Arrest report, mixed case.
    ArrestReport,
    /// Arrest report, ALL CAPS with OCR-like noise.
    ArrestReportCaps,
    /// Resident e-mail to the city.
    Email,
    /// Spanish narrative.
    SpanishNarrative,
    /// Booking-log table row.
    BookingLog,
    /// CityKey application export row.
    MunicipalIdExport,
    /// Nested JSON case record.
    CaseJson,
    /// Held-out narratives: phrasings written after the detectors were tuned, never used
    /// to tune them (reported separately; not part of the target test).
    HeldOut,
}

/// One record: a text document, a table row, or a JSON record.
#[derive(Debug, Clone)]
pub struct GoldRecord {
    /// Family.
    pub family: Family,
    /// Fields.
    pub fields: Vec<GoldField>,
}

/// A table with gold column kinds.
#[derive(Debug, Clone)]
pub struct GoldTable {
    /// Family of its rows.
    pub family: Family,
    /// Headers.
    pub headers: Vec<String>,
    /// The kind of each column, `None` for free text or non-personal columns.
    pub column_kinds: Vec<Option<EntityKind>>,
    /// Rows (one field per column, named by header).
    pub rows: Vec<GoldRecord>,
}

/// The whole corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Text documents.
    pub texts: Vec<GoldRecord>,
    /// Tables.
    pub tables: Vec<GoldTable>,
    /// JSON records (fields named by JSON pointer).
    pub json: Vec<GoldRecord>,
}

impl Corpus {
    /// The text of every field: text documents, JSON values, then table cells.
    pub fn field_texts(&self) -> impl Iterator<Item = &str> {
        let records = self.texts.iter().chain(&self.json);
        let rows = self.tables.iter().flat_map(|t| &t.rows);
        records
            .chain(rows)
            .flat_map(|r| r.fields.iter().map(|f| f.text.as_str()))
    }
}

// ---- name and place pools -------------------------------------------------------------------

const GROUPS: &[(&[&str], &[&str])] = &[
    (
        &[
            "Juan",
            "José",
            "Luis",
            "Carlos",
            "Jesús",
            "Miguel",
            "Alejandro",
            "Francisco",
            "Guadalupe",
            "María",
            "Ana",
            "Rosa",
            "Yesenia",
            "Xóchitl",
            "Itzel",
            "Marisol",
            "Rogelio",
            "Araceli",
            "Efraín",
            "Maricela",
        ],
        &[
            "García",
            "Rodríguez",
            "Martínez",
            "Hernández",
            "López",
            "González",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Torres",
            "Flores",
            "Rivera",
            "Gómez",
            "Díaz",
            "Reyes",
            "Morales",
            "Cruz",
            "Ortiz",
            "Gutiérrez",
            "Chávez",
            "Mendoza",
            "Castillo",
            "Vázquez",
            "Salazar",
            "Ochoa",
            "Zavala",
            "Villalobos",
            "Quezada",
            "Tlapanco",
        ],
    ),
    (
        &[
            "Krzysztof",
            "Agnieszka",
            "Katarzyna",
            "Piotr",
            "Tomasz",
            "Małgorzata",
            "Wojciech",
            "Magdalena",
            "Jakub",
            "Zofia",
            "Bartosz",
            "Ewa",
            "Łukasz",
            "Grzegorz",
            "Dorota",
        ],
        &[
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kowalczyk",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Woźniak",
            "Dąbrowski",
            "Kozłowski",
            "Jankowski",
            "Mazur",
            "Przybylski",
            "Grabowski",
            "Pawłowski",
            "Michalski",
        ],
    ),
    (
        &[
            "Wei", "Fang", "Jing", "Ming", "Hui", "Jun", "Yan", "Xiaoming", "Lei", "Ying",
            "Zhiwei", "Qiang", "Mei", "Xiuying",
        ],
        &[
            "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun",
            "Zhu", "Guo", "Lin", "Zheng", "Liang", "Tang",
        ],
    ),
    (
        &[
            "Mohammed", "Ahmed", "Ali", "Omar", "Khalid", "Fatima", "Aisha", "Mariam", "Youssef",
            "Hassan", "Layla", "Ibrahim", "Nour", "Tariq", "Rania",
        ],
        &[
            "Haddad", "Khoury", "Nasser", "Saleh", "Hamdan", "Mansour", "Khalil", "Abdullah",
            "Aziz", "Rahman", "Farah", "Haidar", "Yousef", "Al-Sayed", "Qasim",
        ],
    ),
    (
        &[
            "Priya", "Rahul", "Arjun", "Anjali", "Sanjay", "Deepak", "Kavita", "Ravi", "Sunil",
            "Harpreet", "Gurpreet", "Neha", "Vikram", "Lakshmi", "Manoj",
        ],
        &[
            "Patel",
            "Shah",
            "Singh",
            "Kumar",
            "Sharma",
            "Gupta",
            "Mehta",
            "Desai",
            "Reddy",
            "Iyer",
            "Nair",
            "Joshi",
            "Chatterjee",
            "Kaur",
            "Trivedi",
        ],
    ),
    (
        &[
            "James",
            "John",
            "Robert",
            "Michael",
            "David",
            "William",
            "Mary",
            "Patricia",
            "Jennifer",
            "Linda",
            "Elizabeth",
            "Tyrone",
            "Keisha",
            "Darnell",
            "Latoya",
            "Deshawn",
        ],
        &[
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Miller",
            "Davis",
            "Wilson",
            "Anderson",
            "Taylor",
            "Thomas",
            "Jackson",
            "White",
            "Harris",
            "Thompson",
            "Robinson",
            "Washington",
        ],
    ),
];

const STREETS: &[&str] = &[
    "Cermak",
    "Kedzie",
    "Pulaski",
    "Ashland",
    "Western",
    "Halsted",
    "Damen",
    "Milwaukee",
    "Archer",
    "Roosevelt",
    "26th",
    "63rd",
    "47th",
    "Lawrence",
    "Devon",
    "Belmont",
    "Diversey",
    "Fullerton",
    "Division",
    "Madison",
    "Cicero",
    "Kostner",
    "California",
    "Central Park",
    "Sheridan",
    "Clark",
    "Broadway",
    "Lake Shore",
];
const SUFFIXES: &[&str] = &[
    "St",
    "Ave",
    "Rd",
    "Blvd",
    "Dr",
    "Pl",
    "Street",
    "Avenue",
    "Road",
    "Boulevard",
    "Pkwy",
];
const PLACES: &[&str] = &[
    "Guadalajara, Mexico",
    "Mexico",
    "Guatemala",
    "San Pedro Sula, Honduras",
    "El Salvador",
    "Poland",
    "Krakow, Poland",
    "China",
    "Fuzhou, China",
    "India",
    "Hyderabad, India",
    "Syria",
    "Nigeria",
    "Venezuela",
    "Haiti",
    "Ukraine",
    "Michoacán, Mexico",
    "Quetzaltenango, Guatemala",
];
const DEMONYMS: &[&str] = &[
    "Mexican",
    "Guatemalan",
    "Honduran",
    "Salvadoran",
    "Polish",
    "Chinese",
    "Indian",
    "Syrian",
    "Nigerian",
    "Venezuelan",
    "Haitian",
    "Ukrainian",
];
const STATUS_EN: &[&str] = &[
    "undocumented",
    "a DACA recipient",
    "a lawful permanent resident",
    "a green card holder",
    "an asylum seeker",
    "a refugee",
    "out of status",
    "unlawfully present",
    "a TPS holder",
    "a naturalized citizen",
    "not a U.S. citizen",
    "in removal proceedings",
];
const STATUS_ES: &[&str] = &[
    "indocumentado",
    "residente permanente",
    "solicitante de asilo",
    "beneficiario de DACA",
    "sin papeles",
    "refugiado",
];
const CHARGES: &[&str] = &[
    "RETAIL THEFT",
    "CRIMINAL TRESPASS",
    "DRIVING ON SUSPENDED LICENSE",
    "BATTERY",
    "POSSESSION OF CANNABIS",
    "DISORDERLY CONDUCT",
];

// ---- value generators -----------------------------------------------------------------------

/// A person: first name, optional middle initial, surname.
#[derive(Debug, Clone)]
pub struct Person {
    /// Given name.
    pub first: String,
    /// Middle initial.
    pub middle: Option<char>,
    /// Surname.
    pub last: String,
}

fn person(rng: &mut Rng) -> Person {
    let (firsts, lasts) = rng.pick(GROUPS);
    let first = rng.pick(firsts).to_string();
    let last = rng.pick(lasts).to_string();
    let middle = rng
        .chance(0.3)
        .then(|| char::from(b'A' + rng.below(26) as u8));
    Person {
        first,
        middle,
        last,
    }
}

fn ssn(rng: &mut Rng) -> String {
    let area = loop {
        let a = rng.range(1, 899);
        if a != 666 {
            break a;
        }
    };
    let (g, s) = (rng.range(1, 99), rng.range(1, 9999));
    match rng.below(10) {
        0 => format!("{area:03} {g:02} {s:04}"),
        _ => format!("{area:03}-{g:02}-{s:04}"),
    }
}

fn itin(rng: &mut Rng) -> String {
    let group = *rng.pick(&[50u64, 57, 63, 70, 78, 88, 90, 92, 94, 99]);
    format!(
        "9{:02}-{group:02}-{:04}",
        rng.below(100),
        rng.range(1, 9999)
    )
}

fn a_number(rng: &mut Rng) -> String {
    let d = rng.range(10_000_000, 299_999_999);
    let nine = format!("{d:09}");
    match rng.below(4) {
        0 => format!("A{nine}"),
        1 => format!("A-{}-{}-{}", &nine[0..3], &nine[3..6], &nine[6..9]),
        2 => format!("A# {nine}"),
        _ => format!("A{} {} {}", &nine[0..3], &nine[3..6], &nine[6..9]),
    }
}

fn receipt(rng: &mut Rng) -> String {
    let prefix = rng.pick(&["EAC", "WAC", "LIN", "SRC", "NBC", "MSC", "IOE"]);
    let (fy, day, seq) = (rng.range(15, 26), rng.range(1, 260), rng.below(100_000));
    if rng.chance(0.5) {
        format!("{prefix}{fy:02}{day:03}{seq:05}")
    } else {
        format!("{prefix}-{fy:02}-{day:03}-{seq:05}")
    }
}

fn i94(rng: &mut Rng) -> String {
    if rng.chance(0.5) {
        rng.digits(11)
    } else {
        format!(
            "{}{}{}",
            rng.digits(9),
            char::from(b'A' + rng.below(26) as u8),
            rng.below(10)
        )
    }
}

fn passport(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("{}", rng.range(100_000_000, 999_999_999)),
        1 => format!(
            "{}{}",
            char::from(b'A' + rng.below(26) as u8),
            rng.digits(8)
        ),
        _ => format!("G{}", rng.digits(7)),
    }
}

fn mrz_digit(field: &str) -> char {
    let d = crate::validate::mrz_check_digit(field.as_bytes()).unwrap_or(0);
    char::from(b'0' + d)
}

fn mrz(rng: &mut Rng, p: &Person) -> (String, String) {
    let clean = |s: &str| -> String {
        let mut buf = [0u8; 48];
        let folded = crate::detect::names::fold(s, &mut buf)
            .map(|b| String::from_utf8_lossy(b).to_ascii_uppercase())
            .unwrap_or_else(|| "X".into());
        folded
            .chars()
            .map(|c| if c.is_ascii_alphabetic() { c } else { '<' })
            .collect()
    };
    let mut l1 = format!("P<MEX{}<<{}", clean(&p.last), clean(&p.first));
    while l1.len() < 44 {
        l1.push('<');
    }
    l1.truncate(44);
    let doc = format!("G{}", rng.digits(8));
    let birth = format!(
        "{:02}{:02}{:02}",
        rng.range(60, 99),
        rng.range(1, 12),
        rng.range(1, 28)
    );
    let expiry = format!(
        "{:02}{:02}{:02}",
        rng.range(27, 35),
        rng.range(1, 12),
        rng.range(1, 28)
    );
    let optional = "<<<<<<<<<<<<<<";
    let body = format!(
        "{doc}{}MEX{birth}{}{}{expiry}{}{optional}{}",
        mrz_digit(&doc),
        mrz_digit(&birth),
        rng.pick(&['M', 'F']),
        mrz_digit(&expiry),
        mrz_digit(optional)
    );
    let composite = format!("{}{}{}", &body[0..10], &body[13..20], &body[21..43]);
    (l1, format!("{body}{}", mrz_digit(&composite)))
}

fn soundex(name: &str) -> String {
    let mut buf = [0u8; 48];
    let letters: Vec<u8> = crate::detect::names::fold(name, &mut buf)
        .map(|b| b.iter().copied().filter(u8::is_ascii_alphabetic).collect())
        .unwrap_or_default();
    let code = |c: u8| match c {
        b'b' | b'f' | b'p' | b'v' => b'1',
        b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
        b'd' | b't' => b'3',
        b'l' => b'4',
        b'm' | b'n' => b'5',
        b'r' => b'6',
        _ => b'0',
    };
    let Some(&first) = letters.first() else {
        return "X000".into();
    };
    let mut out = vec![first.to_ascii_uppercase()];
    let mut last = code(first);
    for &c in &letters[1..] {
        let k = code(c);
        if k != b'0' && k != last {
            out.push(k);
        }
        if c != b'h' && c != b'w' {
            last = k;
        }
        if out.len() == 4 {
            break;
        }
    }
    while out.len() < 4 {
        out.push(b'0');
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn il_dl(rng: &mut Rng, p: &Person) -> String {
    let s = soundex(&p.last);
    let fff = rng.digits(3);
    let yy = rng.range(60, 99);
    let (month, day) = (rng.range(1, 12), rng.range(1, 28));
    let ddd = (month - 1) * 31 + day + if rng.chance(0.5) { 600 } else { 0 };
    let y1 = yy / 10;
    let y2 = yy % 10;
    if rng.chance(0.6) {
        format!("{s}-{fff}{y1}-{y2}{ddd:03}")
    } else {
        format!("{s}{fff}{y1}{y2}{ddd:03}")
    }
}

fn plate(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!(
            "{}{} {}",
            char::from(b'A' + rng.below(26) as u8),
            char::from(b'A' + rng.below(26) as u8),
            rng.range(10_000, 99_999)
        ),
        1 => format!("{}", rng.range(1_000_000, 9_999_999)),
        _ => format!(
            "{}{}{}",
            rng.pick(&["CUBS", "SOX", "BEAR", "LUZ"]),
            rng.pick(&["FAN", "MOM", "22", "7"]),
            rng.below(10)
        ),
    }
}

fn phone(rng: &mut Rng) -> String {
    let area = rng.pick(&[312u64, 773, 872, 708, 630, 847]);
    let (ex, line) = (rng.range(200, 999), rng.range(1000, 9999));
    match rng.below(5) {
        0 => format!("({area}) {ex}-{line}"),
        1 => format!("{area}-{ex}-{line}"),
        2 => format!("{area}.{ex}.{line}"),
        3 => format!("+1 {area} {ex} {line}"),
        _ => format!("{area}{ex}{line}"),
    }
}

fn email(rng: &mut Rng, p: &Person) -> String {
    let mut buf = [0u8; 48];
    let last = crate::detect::names::fold(&p.last, &mut buf)
        .map(|b| String::from_utf8_lossy(b).replace(['\'', '-'], ""))
        .unwrap_or_else(|| "user".into());
    let mut buf2 = [0u8; 48];
    let first = crate::detect::names::fold(&p.first, &mut buf2)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| "x".into());
    let domain = rng.pick(&[
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "aol.com",
        "comcast.net",
    ]);
    format!(
        "{}{}{}@{domain}",
        &first[..1.min(first.len())],
        last,
        rng.below(100)
    )
}

fn ip(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.range(11, 223),
        rng.below(256),
        rng.below(256),
        rng.range(1, 254)
    )
}

fn luhn_complete(prefix: impl AsRef<str>, len: usize, rng: &mut Rng) -> String {
    let mut ds: Vec<u8> = prefix.as_ref().bytes().map(|b| b - b'0').collect();
    while ds.len() < len - 1 {
        ds.push(rng.below(10) as u8);
    }
    for check in 0..10u8 {
        let mut all = ds.clone();
        all.push(check);
        if crate::validate::luhn(&all) {
            return all.iter().map(|d| char::from(b'0' + d)).collect();
        }
    }
    String::new()
}

fn card(rng: &mut Rng) -> String {
    let raw = luhn_complete(rng.pick(&["4", "51", "55", "6011"]), 16, rng);
    if rng.chance(0.5) {
        raw.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        raw
    }
}

fn routing(rng: &mut Rng) -> String {
    loop {
        let prefix = *rng.pick(&[2u64, 7, 11, 21, 26, 31, 61, 71, 72]);
        let body = format!("{prefix:02}{}", rng.digits(6));
        for check in 0..10u8 {
            let s = format!("{body}{check}");
            if crate::validate::aba_routing(&crate::validate::digits(&s)) {
                return s;
            }
        }
    }
}

fn dob(rng: &mut Rng) -> String {
    let (y, m, d) = (rng.range(1950, 2008), rng.range(1, 12), rng.range(1, 28));
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match rng.below(5) {
        0 | 1 => format!("{m:02}/{d:02}/{y}"),
        2 => format!("{y}-{m:02}-{d:02}"),
        3 => format!("{} {d}, {y}", MONTHS[(m - 1) as usize]),
        _ => format!("{m}-{d}-{y}"),
    }
}

fn address(rng: &mut Rng) -> String {
    let num = rng.range(1, 12_999);
    let dir = rng.pick(&["N", "S", "E", "W"]);
    let street = rng.pick(STREETS);
    let mut a = if rng.chance(0.15) {
        format!("{num} {dir} {street}")
    } else {
        format!("{num} {dir} {street} {}", rng.pick(SUFFIXES))
    };
    if rng.chance(0.25) {
        a.push_str(&format!(" Apt {}", rng.range(1, 40)));
    }
    if rng.chance(0.3) {
        a.push_str(&format!(", Chicago, IL 606{:02}", rng.range(1, 60)));
    }
    a
}

fn citykey(rng: &mut Rng) -> String {
    format!("CK-{}", rng.digits(8))
}

// ---- text builder ---------------------------------------------------------------------------

struct Builder {
    rng: Rng,
    text: String,
    spans: Vec<GoldSpan>,
    caps: bool,
    noise: f64,
}

impl Builder {
    fn new(rng: &mut Rng, caps: bool, noise: f64) -> Self {
        Builder {
            rng: Rng::new(rng.next_u64()),
            text: String::new(),
            spans: Vec::new(),
            caps,
            noise,
        }
    }

    /// Literal text; in noisy documents ordinary long words get OCR-like substitutions.
    fn lit(&mut self, s: impl AsRef<str>) {
        let rng = &mut self.rng;
        let s = s.as_ref();
        let s = if self.caps {
            s.to_uppercase()
        } else {
            s.to_string()
        };
        if self.noise == 0.0 {
            self.text.push_str(&s);
            return;
        }
        for (i, word) in s.split(' ').enumerate() {
            if i > 0 {
                self.text.push(' ');
                if rng.chance(self.noise / 2.0) {
                    self.text.push(' ');
                }
            }
            let plain = word.len() > 5 && word.chars().all(|c| c.is_ascii_alphabetic());
            if plain && rng.chance(self.noise) {
                let noisy: String = word
                    .chars()
                    .map(|c| match c {
                        'O' if rng.chance(0.5) => '0',
                        'o' if rng.chance(0.5) => '0',
                        'l' if rng.chance(0.5) => '1',
                        'I' if rng.chance(0.5) => '1',
                        'e' if rng.chance(0.3) => 'c',
                        other => other,
                    })
                    .collect();
                self.text.push_str(&noisy);
            } else {
                self.text.push_str(word);
            }
        }
    }

    /// Cue text: never noised (a cue lost to OCR is a different experiment).
    fn cue(&mut self, s: &str) {
        self.text.push_str(&if self.caps {
            s.to_uppercase()
        } else {
            s.to_string()
        });
    }

    fn ent(&mut self, kind: EntityKind, value: impl AsRef<str>) {
        let value = value.as_ref();
        let v = if self.caps {
            value.to_uppercase()
        } else {
            value.to_string()
        };
        let start = self.text.len();
        self.text.push_str(&v);
        self.spans.push(GoldSpan {
            start,
            end: self.text.len(),
            kind,
        });
    }

    fn name(&mut self, p: &Person) {
        let full = match p.middle {
            Some(m) => format!("{} {m}. {}", p.first, p.last),
            None => format!("{} {}", p.first, p.last),
        };
        self.ent(EntityKind::Person, &full);
    }

    fn field(self, name: Option<String>) -> GoldField {
        GoldField {
            name,
            text: self.text,
            spans: self.spans,
        }
    }
}

fn pron(p: &Person, rng: &mut Rng) -> &'static str {
    let _ = p;
    if rng.chance(0.5) {
        "he"
    } else {
        "she"
    }
}

// ---- document families ----------------------------------------------------------------------

fn arrest_report(rng: &mut Rng, caps: bool) -> GoldRecord {
    let mut b = Builder::new(rng, caps, if caps { 0.15 } else { 0.0 });
    let p = person(rng);
    let rd = format!(
        "J{}{}",
        char::from(b'A' + rng.below(26) as u8),
        rng.digits(6)
    );
    b.lit(format!(
        "ARREST REPORT  RD# {rd}  BEAT {}\n",
        rng.range(111, 2535)
    ));
    b.cue("ARRESTEE: ");
    let mut last_first = format!("{}, {}", p.last.to_uppercase(), p.first.to_uppercase());
    if let Some(m) = p.middle {
        last_first.push_str(&format!(" {m}"));
    }
    b.ent(EntityKind::Person, &last_first);
    b.cue("  DOB: ");
    b.ent(EntityKind::DateOfBirth, dob(rng));
    b.cue("  SSN: ");
    b.ent(EntityKind::Ssn, ssn(rng));
    b.lit("\n");
    b.cue("ADDRESS: ");
    b.ent(EntityKind::StreetAddress, address(rng));
    b.cue("  PHONE: ");
    b.ent(EntityKind::Phone, phone(rng));
    b.lit("\n");
    b.cue("DL: ");
    b.ent(EntityKind::DriverLicense, il_dl(rng, &p));
    b.lit(format!(
        "  CHARGE: {} ({})\n",
        rng.pick(CHARGES),
        rng.pick(&["720 ILCS 5/16-25", "625 ILCS 5/6-303", "720 ILCS 5/21-3"])
    ));
    b.lit(format!(
        "On {:02}/{:02}/2026 at {:02}:{:02} hours, P.O. #{} observed the arrestee ",
        rng.range(1, 12),
        rng.range(1, 28),
        rng.below(24),
        rng.below(60),
        rng.range(10_000, 19_999)
    ));
    b.lit("driving a vehicle with ");
    b.cue("plate ");
    b.ent(EntityKind::LicensePlate, plate(rng));
    b.lit(". ");
    let pr = pron(&p, rng);
    let surname_again = |b: &mut Builder| b.ent(EntityKind::Person, &p.last);
    let n = rng.range(3, 6);
    for _ in 0..n {
        match rng.below(12) {
            0 => {
                surname_again(&mut b);
                b.lit(format!(" stated that {pr} is "));
                b.ent(EntityKind::ImmigrationStatus, rng.pick(STATUS_EN));
                b.lit(". ");
            }
            1 => {
                b.lit(format!("The arrestee stated {pr} was "));
                b.cue("born in ");
                b.ent(EntityKind::PlaceOfBirth, rng.pick(PLACES));
                b.lit(". ");
            }
            2 => {
                b.lit("Records show ");
                b.cue("A-number ");
                b.ent(EntityKind::ANumber, a_number(rng));
                b.lit(" and ");
                b.cue("passport no. ");
                b.ent(EntityKind::Passport, passport(rng));
                b.lit(". ");
            }
            3 => {
                b.lit("Witness ");
                b.name(&person(rng));
                b.lit(" (");
                b.cue("cell ");
                b.ent(EntityKind::Phone, phone(rng));
                b.lit(") gave a statement. ");
            }
            4 => {
                b.lit("The arrestee is a ");
                b.ent(EntityKind::PlaceOfBirth, rng.pick(DEMONYMS));
                b.lit(" national. ");
            }
            5 => {
                surname_again(&mut b);
                b.lit(" was transported to the district for processing without incident. ");
            }
            6 => {
                b.lit("A search found a card ending in a number, full number ");
                b.ent(EntityKind::CardNumber, card(rng));
                b.lit(". ");
            }
            7 => {
                b.lit("The department serves all residents regardless of immigration status. ");
            }
            8 => {
                b.lit("Mr. ");
                b.ent(EntityKind::Person, &p.last);
                b.lit(" provided ");
                b.cue("USCIS receipt ");
                b.ent(EntityKind::UscisReceipt, receipt(rng));
                b.lit(" and ");
                b.cue("I-94 number ");
                b.ent(EntityKind::I94, i94(rng));
                b.lit(". ");
            }
            9 => {
                b.lit("The victim, ");
                b.name(&person(rng));
                b.lit(", lives at ");
                b.ent(EntityKind::StreetAddress, address(rng));
                b.lit(". ");
            }
            10 => {
                b.lit(format!(
                    "Case {}-CR-{} was opened on {}. ",
                    2026,
                    rng.digits(6),
                    "10/30/2026"
                ));
            }
            _ => {
                b.lit("The arrestee's ");
                b.cue("ITIN ");
                b.ent(EntityKind::Itin, itin(rng));
                b.lit(" was on the bond form. ");
            }
        }
    }
    b.lit("\n");
    GoldRecord {
        family: if caps {
            Family::ArrestReportCaps
        } else {
            Family::ArrestReport
        },
        fields: vec![b.field(None)],
    }
}

fn email_doc(rng: &mut Rng) -> GoldRecord {
    let mut b = Builder::new(rng, false, 0.0);
    let p = person(rng);
    b.lit("From: ");
    b.name(&p);
    b.lit(" <");
    b.ent(EntityKind::Email, email(rng, &p));
    b.lit(">\nTo: foia@cityofchicago.org\nSubject: CityKey renewal\n\nHello,\n\nMy name is ");
    b.name(&p);
    b.lit(" and my ");
    b.cue("CityKey ");
    b.ent(EntityKind::MunicipalId, citykey(rng));
    b.lit(" expired. I live at ");
    b.ent(EntityKind::StreetAddress, address(rng));
    b.lit(". My ");
    b.cue("phone is ");
    b.ent(EntityKind::Phone, phone(rng));
    b.lit(". ");
    if rng.chance(0.5) {
        b.lit("I am ");
        b.ent(EntityKind::ImmigrationStatus, rng.pick(STATUS_EN));
        b.lit(" and I was ");
        b.cue("born in ");
        b.ent(EntityKind::PlaceOfBirth, rng.pick(PLACES));
        b.lit(". ");
    }
    if rng.chance(0.5) {
        b.lit("Please refund the fee to my ");
        b.cue("account ");
        let len = 10 + rng.below(3) as usize;
        b.ent(EntityKind::BankAccount, rng.digits(len));
        b.lit(" (");
        b.cue("routing ");
        b.ent(EntityKind::BankRouting, routing(rng));
        b.lit("). ");
    }
    if rng.chance(0.3) {
        b.lit("My ");
        b.cue("date of birth is ");
        b.ent(EntityKind::DateOfBirth, dob(rng));
        b.lit(". ");
    }
    if rng.chance(0.3) {
        b.lit("I applied online from ");
        b.cue("IP ");
        b.ent(EntityKind::IpAddress, ip(rng));
        b.lit(". ");
    }
    b.lit("\n\nThank you,\n");
    b.ent(EntityKind::Person, &p.first);
    b.lit("\n");
    GoldRecord {
        family: Family::Email,
        fields: vec![b.field(None)],
    }
}

fn spanish_doc(rng: &mut Rng) -> GoldRecord {
    let mut b = Builder::new(rng, false, 0.0);
    let p = person(rng);
    b.lit("Declaración: el Sr. ");
    b.name(&p);
    b.lit(", ");
    b.cue("nacido en ");
    b.ent(EntityKind::PlaceOfBirth, rng.pick(PLACES));
    b.lit(", dijo que es ");
    b.ent(EntityKind::ImmigrationStatus, rng.pick(STATUS_ES));
    b.lit(". Vive en ");
    b.ent(EntityKind::StreetAddress, address(rng));
    b.lit(" y su ");
    b.cue("teléfono es ");
    b.ent(EntityKind::Phone, phone(rng));
    b.lit(". ");
    if rng.chance(0.5) {
        b.lit("Su ");
        b.cue("pasaporte ");
        b.ent(EntityKind::Passport, passport(rng));
        b.lit(" fue revisado. ");
    }
    if rng.chance(0.5) {
        let (l1, l2) = mrz(rng, &p);
        b.lit("Zona MRZ:\n");
        b.ent(EntityKind::Person, &l1);
        b.lit("\n");
        b.ent(EntityKind::Passport, &l2);
        b.lit("\n");
    }
    GoldRecord {
        family: Family::SpanishNarrative,
        fields: vec![b.field(None)],
    }
}

fn cell(kind: Option<EntityKind>, header: &str, value: String) -> GoldField {
    let spans = match kind {
        Some(k) if !value.is_empty() => vec![GoldSpan {
            start: 0,
            end: value.len(),
            kind: k,
        }],
        _ => Vec::new(),
    };
    GoldField {
        name: Some(header.to_string()),
        text: value,
        spans,
    }
}

/// Column specs: header variants and the kind.
type ColumnSpec = (&'static [&'static str], Option<EntityKind>);

const BOOKING_COLUMNS: &[ColumnSpec] = &[
    (&["booking_no", "Booking Number", "CB#"], None),
    (&["arrest_date", "Arrest Date"], None),
    (
        &["last_name", "Last Name", "LNAME", "surname"],
        Some(EntityKind::Person),
    ),
    (
        &["first_name", "First Name", "FNAME", "given_name"],
        Some(EntityKind::Person),
    ),
    (
        &["dob", "D.O.B.", "Birth Date", "date_of_birth"],
        Some(EntityKind::DateOfBirth),
    ),
    (&["sex"], None),
    (
        &["home_address", "Address", "Residence", "addr"],
        Some(EntityKind::StreetAddress),
    ),
    (
        &["phone", "Phone #", "tel", "Cell"],
        Some(EntityKind::Phone),
    ),
    (
        &["dl_number", "Driver License", "DL", "state_id"],
        Some(EntityKind::DriverLicense),
    ),
    (&["id_2", "ref_a", "x_field"], Some(EntityKind::Ssn)),
    (
        &["country_of_birth", "Place of Birth", "POB", "nationality"],
        Some(EntityKind::PlaceOfBirth),
    ),
    (&["charge", "Charge Description"], None),
    (&["officer_badge", "Officer Star"], None),
    (&["notes", "Narrative", "remarks"], None),
];

fn booking_table(rng: &mut Rng, rows: usize) -> GoldTable {
    let headers: Vec<String> = BOOKING_COLUMNS
        .iter()
        .map(|(names, _)| rng.pick(names).to_string())
        .collect();
    let column_kinds = BOOKING_COLUMNS.iter().map(|(_, k)| *k).collect();
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let p = person(rng);
        let mut fields = Vec::new();
        for (i, (_, kind)) in BOOKING_COLUMNS.iter().enumerate() {
            let h = &headers[i];
            let f = match i {
                0 => cell(None, h, format!("{}", rng.range(20_000_000, 29_999_999))),
                1 => cell(
                    None,
                    h,
                    format!("2026-{:02}-{:02}", rng.range(1, 11), rng.range(1, 28)),
                ),
                2 => cell(*kind, h, p.last.to_uppercase()),
                3 => cell(*kind, h, p.first.to_uppercase()),
                4 => cell(*kind, h, dob(rng)),
                5 => cell(None, h, rng.pick(&["M", "F"]).to_string()),
                6 => cell(*kind, h, address(rng)),
                7 => cell(*kind, h, phone(rng)),
                8 => cell(*kind, h, il_dl(rng, &p)),
                9 => cell(*kind, h, ssn(rng).replace(' ', "-")),
                10 => cell(*kind, h, rng.pick(PLACES).to_string()),
                11 => cell(None, h, rng.pick(CHARGES).to_string()),
                12 => cell(None, h, format!("{}", rng.range(10_000, 19_999))),
                _ => {
                    let mut b = Builder::new(rng, true, 0.0);
                    if rng.chance(0.5) {
                        b.ent(EntityKind::Person, &p.last);
                        b.lit(" STATED ");
                        b.lit(if rng.chance(0.5) { "HE" } else { "SHE" });
                        b.lit(" IS ");
                        b.ent(EntityKind::ImmigrationStatus, rng.pick(STATUS_EN));
                    } else {
                        b.lit("NO STATEMENT. PROPERTY INVENTORIED.");
                    }
                    b.field(Some(h.clone()))
                }
            };
            fields.push(f);
        }
        out.push(GoldRecord {
            family: Family::BookingLog,
            fields,
        });
    }
    GoldTable {
        family: Family::BookingLog,
        headers,
        column_kinds,
        rows: out,
    }
}

const CITYKEY_COLUMNS: &[ColumnSpec] = &[
    (
        &["citykey_number", "CityKey #", "municipal_id"],
        Some(EntityKind::MunicipalId),
    ),
    (
        &["applicant_name", "Full Name", "name"],
        Some(EntityKind::Person),
    ),
    (&["date_of_birth", "DOB"], Some(EntityKind::DateOfBirth)),
    (
        &["residential_address", "Home Address"],
        Some(EntityKind::StreetAddress),
    ),
    (&["email", "E-mail"], Some(EntityKind::Email)),
    (&["mobile", "Phone"], Some(EntityKind::Phone)),
    (&["id_document_type"], None),
    (
        &["passport_or_id_number", "Passport No"],
        Some(EntityKind::Passport),
    ),
    (&["preferred_language", "Language"], None),
    (
        &["application_ip", "IP Address"],
        Some(EntityKind::IpAddress),
    ),
    (&["issued", "Issue Date"], None),
];

fn citykey_table(rng: &mut Rng, rows: usize) -> GoldTable {
    let headers: Vec<String> = CITYKEY_COLUMNS
        .iter()
        .map(|(names, _)| rng.pick(names).to_string())
        .collect();
    let column_kinds = CITYKEY_COLUMNS.iter().map(|(_, k)| *k).collect();
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let p = person(rng);
        let full = format!("{} {}", p.first, p.last);
        let values = [
            citykey(rng),
            full,
            dob(rng),
            address(rng),
            email(rng, &p),
            phone(rng),
            rng.pick(&["Foreign passport", "Consular ID", "IL State ID"])
                .to_string(),
            passport(rng),
            rng.pick(&[
                "Spanish", "Polish", "Arabic", "Mandarin", "English", "Hindi",
            ])
            .to_string(),
            ip(rng),
            format!("2026-{:02}-{:02}", rng.range(1, 11), rng.range(1, 28)),
        ];
        let fields = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| cell(CITYKEY_COLUMNS[i].1, &headers[i], v))
            .collect();
        out.push(GoldRecord {
            family: Family::MunicipalIdExport,
            fields,
        });
    }
    GoldTable {
        family: Family::MunicipalIdExport,
        headers,
        column_kinds,
        rows: out,
    }
}

fn case_json(rng: &mut Rng) -> GoldRecord {
    let p = person(rng);
    let full = format!("{} {}", p.first, p.last);
    let mut fields = vec![
        cell(None, "/case_id", format!("2026-CR-{}", rng.digits(6))),
        cell(
            None,
            "/opened",
            format!("2026-{:02}-{:02}", rng.range(1, 11), rng.range(1, 28)),
        ),
        cell(Some(EntityKind::Person), "/subject/name", full),
        cell(Some(EntityKind::DateOfBirth), "/subject/dob", dob(rng)),
        cell(
            Some(EntityKind::ANumber),
            "/subject/a_number",
            a_number(rng),
        ),
        cell(
            Some(EntityKind::Phone),
            "/subject/contacts/0/phone",
            phone(rng),
        ),
        cell(
            Some(EntityKind::Email),
            "/subject/contacts/1/email",
            email(rng, &p),
        ),
        cell(
            Some(EntityKind::StreetAddress),
            "/subject/address/line1",
            address(rng),
        ),
        cell(Some(EntityKind::LicensePlate), "/vehicle/plate", plate(rng)),
    ];
    let mut b = Builder::new(rng, false, 0.0);
    b.ent(EntityKind::Person, &p.last);
    b.lit(" told the caseworker that ");
    b.lit(pron(&p, rng));
    b.lit(" is ");
    b.ent(EntityKind::ImmigrationStatus, rng.pick(STATUS_EN));
    b.lit(" and a ");
    b.ent(EntityKind::PlaceOfBirth, rng.pick(DEMONYMS));
    b.lit(" citizen. ");
    if rng.chance(0.5) {
        b.lit("The caseworker called ");
        b.name(&person(rng));
        b.lit(", a neighbor. ");
    }
    fields.push(b.field(Some("/narrative".to_string())));
    GoldRecord {
        family: Family::CaseJson,
        fields,
    }
}

/// Generates a corpus: `docs` text documents, `docs` booking rows, `docs / 2` CityKey rows and
/// `docs / 2` JSON case records.
pub fn generate(seed: u64, docs: usize) -> Corpus {
    let mut rng = Rng::new(seed);
    let mut texts = Vec::with_capacity(docs);
    for i in 0..docs {
        texts.push(match i % 10 {
            0..=3 => arrest_report(&mut rng, false),
            4..=6 => arrest_report(&mut rng, true),
            7 | 8 => email_doc(&mut rng),
            _ => spanish_doc(&mut rng),
        });
    }
    let tables = vec![
        booking_table(&mut rng, docs.max(1)),
        citykey_table(&mut rng, (docs / 2).max(1)),
    ];
    let json = (0..(docs / 2).max(1))
        .map(|_| case_json(&mut rng))
        .collect();
    Corpus {
        texts,
        tables,
        json,
    }
}

impl GoldRecord {
    /// The record as a nested JSON value (fields named by JSON pointer).
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Value::Object(Default::default());
        for f in &self.fields {
            let Some(pointer) = &f.name else { continue };
            let mut node = &mut root;
            let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let next_is_index = parts.get(i + 1).is_some_and(|p| p.parse::<usize>().is_ok());
                let make = || {
                    if next_is_index {
                        serde_json::Value::Array(Vec::new())
                    } else {
                        serde_json::Value::Object(Default::default())
                    }
                };
                node = match node {
                    serde_json::Value::Object(map) => {
                        if last {
                            map.insert(part.to_string(), serde_json::Value::String(f.text.clone()));
                            break;
                        }
                        map.entry(part.to_string()).or_insert_with(make)
                    }
                    serde_json::Value::Array(items) => {
                        let idx: usize = part.parse().unwrap_or(items.len());
                        while items.len() <= idx {
                            items.push(if last {
                                serde_json::Value::Null
                            } else {
                                make()
                            });
                        }
                        if last {
                            items[idx] = serde_json::Value::String(f.text.clone());
                            break;
                        }
                        &mut items[idx]
                    }
                    _ => break,
                };
            }
        }
        root
    }
}

/// Held-out narratives: `docs` documents in phrasings the detectors were not tuned on.
pub fn generate_held_out(seed: u64, docs: usize) -> Corpus {
    let mut rng = Rng::new(seed ^ 0x4845_4c44);
    let texts = (0..docs).map(|_| held_out_doc(&mut rng)).collect();
    Corpus {
        texts,
        tables: Vec::new(),
        json: Vec::new(),
    }
}

fn held_out_doc(rng: &mut Rng) -> GoldRecord {
    let caps = rng.chance(0.3);
    let mut b = Builder::new(rng, caps, 0.0);
    let p = person(rng);
    let n = rng.range(3, 6);
    for _ in 0..n {
        match rng.below(10) {
            0 => {
                b.lit("Complainant ");
                b.ent(EntityKind::Person, format!("{} {}", p.first, p.last));
                b.lit(format!(", {} years old, residing at ", rng.range(19, 70)));
                b.ent(EntityKind::StreetAddress, address(rng));
                b.lit(", reported the incident. ");
            }
            1 => {
                b.lit("Subject's social is ");
                b.ent(EntityKind::Ssn, ssn(rng).replace('-', " "));
                b.lit(". ");
            }
            2 => {
                b.lit("Per the federal request, ");
                b.ent(EntityKind::Person, &p.last);
                b.lit(" has an alien number of ");
                b.ent(
                    EntityKind::ANumber,
                    format!("{:09}", rng.range(10_000_000, 299_999_999)),
                );
                b.lit(". ");
            }
            3 => {
                b.lit("Contact: ");
                b.ent(EntityKind::Email, email(rng, &p));
                b.lit(" / ");
                b.ent(EntityKind::Phone, phone(rng));
                b.lit(". ");
            }
            4 => {
                let other = person(rng);
                b.ent(
                    EntityKind::Person,
                    format!(
                        "{} {}",
                        other.first.to_uppercase(),
                        other.last.to_uppercase()
                    ),
                );
                b.lit(" (DOB ");
                b.ent(EntityKind::DateOfBirth, dob(rng));
                b.lit(") was cited. ");
            }
            5 => {
                b.lit("She told officers she has been living ");
                b.ent(EntityKind::ImmigrationStatus, "without papers");
                b.lit(" since 2019. ");
            }
            6 => {
                b.lit("He is originally from ");
                b.ent(EntityKind::PlaceOfBirth, rng.pick(PLACES));
                b.lit(". ");
            }
            7 => {
                b.lit("License plate number ");
                b.ent(EntityKind::LicensePlate, plate(rng));
                b.lit(" was run. ");
            }
            8 => {
                b.lit("Driver's lic. ");
                b.ent(EntityKind::DriverLicense, il_dl(rng, &p));
                b.lit(" was valid. ");
            }
            _ => {
                b.lit("The owner, Mrs. ");
                b.ent(EntityKind::Person, &p.last);
                b.lit(", holds a work visa and asked for a lawyer. ");
            }
        }
    }
    b.lit("\n");
    GoldRecord {
        family: Family::HeldOut,
        fields: vec![b.field(None)],
    }
}
