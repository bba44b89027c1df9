//! citygate-redaction: see ARCHITECTURE.md.
