//! The smallest Typst `World` that can compile one letter: the template as the
//! only file, the bundled fonts, and the letter's data as `sys.inputs`.
//!
//! A template cannot read files, import packages or ask for today's date: every
//! such request fails with a message, so what a letter says depends only on the
//! template and the data handed in.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Parsed fonts: Typst's bundled ones (Libertinus Serif, New Computer Modern,
/// DejaVu Sans Mono) and any the caller adds. Parsing them is most of a first
/// render, so they are kept (see `Letters`).
pub(crate) struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

impl Fonts {
    /// The bundled fonts, then `extra` (font files' bytes; collections give
    /// every face; bytes that are not a font are skipped). Typst falls back to
    /// any font in the book for characters the template's font lacks.
    pub(crate) fn new(extra: Vec<Vec<u8>>) -> Fonts {
        let fonts: Vec<Font> = typst_assets::fonts()
            .map(Bytes::new)
            .chain(extra.into_iter().map(Bytes::new))
            .flat_map(Font::iter)
            .collect();
        let book = LazyHash::new(FontBook::from_fonts(&fonts));
        Fonts { book, fonts }
    }

    pub(crate) fn len(&self) -> usize {
        self.fonts.len()
    }
}

/// One interned id for every letter: Typst's file ids are leaked and limited to
/// 65,535 per process, so a fresh id per render would run out.
fn main_id() -> Option<FileId> {
    static MAIN: LazyLock<Option<FileId>> = LazyLock::new(|| {
        VirtualPath::new("/letter.typ")
            .ok()
            .map(|path| FileId::new(RootedPath::new(VirtualRoot::Project, path)))
    });
    *MAIN
}

pub(crate) struct LetterWorld<'a> {
    library: LazyHash<Library>,
    source: Source,
    fonts: &'a Fonts,
}

impl<'a> LetterWorld<'a> {
    /// `None` only if the constant file name were rejected by Typst.
    pub(crate) fn new(template: &str, inputs: Dict, fonts: &'a Fonts) -> Option<LetterWorld<'a>> {
        let id = main_id()?;
        Some(LetterWorld {
            library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
            source: Source::new(id, template.to_owned()),
            fonts,
        })
    }

    pub(crate) fn source_text(&self) -> &Source {
        &self.source
    }
}

fn no_files() -> FileError {
    FileError::Other(Some(
        "letter templates cannot read files or import packages; \
         everything a letter shows comes from sys.inputs"
            .into(),
    ))
}

impl World for LetterWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.source.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.source.id() {
            Ok(self.source.clone())
        } else {
            Err(no_files())
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.source.id() {
            Ok(Bytes::from_string(self.source.clone()))
        } else {
            Err(no_files())
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    /// No clock: the letter's date is part of its data, so re-rendering a
    /// letter later gives the same letter.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}
