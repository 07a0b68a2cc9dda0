//! Holds `infra/` to the code: `infra/template.yaml` (every function of the
//! workspace is in it and built by cargo-lambda, its state table is the one
//! `shared::table` defines, its roles grant nothing on `*` that could be
//! narrower, and the stream mapping, Connect permissions and dashboard are wired
//! as the functions expect), and `infra/contact-flows/integration.json`, the
//! flow to import into Connect.

mod consumer;
mod contact_flow;
mod functions;
mod policies;
mod table;
mod template;

use std::path::PathBuf;

/// The workspace root, which `infra/` and `functions/` are in.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
