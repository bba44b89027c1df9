//! citygate-reader: see ARCHITECTURE.md.
