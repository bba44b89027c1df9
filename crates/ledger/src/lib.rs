//! citygate-ledger: see ARCHITECTURE.md.
